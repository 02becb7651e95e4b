"""``python -m digest`` runs the command-line interface."""

from digest.cli import main

raise SystemExit(main())
