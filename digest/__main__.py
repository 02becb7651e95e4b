"""``python -m digest`` runs the command-line interface."""

from digest.cli import run

run()
