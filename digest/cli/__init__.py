"""The command line: thin commands over the library.

``program`` is the program without error handling; ``main`` does all of it,
and is the only place where errors become exit codes and one-line messages.
Heavy modules are imported inside the commands, so ``digest --help`` is fast.
Each command module (history, fetching, publishing, service, subscribers, sending, returns) registers its own
subcommands; ``env`` is what they share (the injectable environment, the config and the store).

Takes in: the command line and the environment. Hands on: exit codes, output and one-line errors.
May import: everything below it: the base, the store, the stages, the pipeline, schedule and web.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from digest import __version__
from digest.cli import fetching, history, publishing, returns, sending, service, subscribers
from digest.cli.env import Environment
from digest.cli.parsing import EXIT_CODES, Parser, add_command, common_options
from digest.errors import ConfigError, DigestError, ExitStatus, LockedError, UsageError

__all__ = ["Environment", "build_parser", "main", "program"]


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = Parser(
        prog="digest",
        description="A daily digest of trending research papers: ingest listing dumps, "
        "find the papers nobody has been sent yet, publish them by email, RSS and a web archive.",
        epilog=EXIT_CODES + "\n\nexample:\n  digest run --verbose",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    command = functools.partial(add_command, commands, common)

    for module in (history, fetching, publishing, service, subscribers, sending, returns):
        module.register(command, common)
    return parser


def program(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """The program without error handling."""
    handler: Callable[[argparse.Namespace, Environment], ExitStatus] = args.handler
    return handler(args, env)


def _configure_logging(args: argparse.Namespace, env: Environment) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(logging.Formatter("digest: %(message)s"))
    root = logging.getLogger("digest")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


#: Threads numpy's linear algebra (OpenBLAS) starts with, unless the environment says otherwise: one. digest's
#: matrices are a digest's papers (a few hundred rows, mostly sparse), too small for threads to pay, and OpenBLAS
#: starts one per core at numpy's import, whose start-up costs some 70 ms of CPU in every command that ranks,
#: taken from the core the SMTP connections and the mail server work on.
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def run() -> NoReturn:
    """The ``digest`` command: :func:`main`, then the process ends. Ending, it skips the collector's last passes
    over everything the command held (a send's ranking rows and mail blocks: some 30 ms of every send)."""
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)  # (before anything imports numpy)
    status = main()
    gc.freeze()  # (objects are still freed as modules are cleared; cycles are left to the process's end)
    sys.exit(status)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run one command; return its exit status. Errors become one line on stderr."""
    env = env or Environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            with contextlib.redirect_stdout(env.stdout):
                args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help and --version
            return int(exit_.code or 0)
        for option in ("config", "verbose", "debug"):
            if not hasattr(args, option):
                setattr(args, option, None if option == "config" else False)
        if getattr(args, "handler", None) is None:
            parser.print_help(env.stdout)
            return ExitStatus.USAGE
        _configure_logging(args, env)
        return int(program(args, env))
    except KeyboardInterrupt:
        env.err("interrupted")
        return ExitStatus.FAILURE
    except DigestError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        env.err(f"error: {exc.one_line()}")
        return _exit_status(exc)
    except BrokenPipeError:
        # The reader went away (`digest papers | head`): stop quietly, as Unix tools do.
        _silence(env.stdout)
        return ExitStatus.OK
    except OSError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        where = f"{exc.filename}: " if exc.filename else ""
        env.err(f"error: {where}{exc.strerror or exc}")
        return ExitStatus.FAILURE
    except Exception as exc:  # noqa: BLE001 - the one place that turns any error into a line
        if debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        else:
            env.err(f"error: unexpected {type(exc).__name__}: {exc} (run again with --debug for details)")
        return ExitStatus.FAILURE


def _silence(stream: object) -> None:
    """Point a closed pipe's file descriptor at /dev/null, so that flushing it at exit says nothing."""
    try:
        fileno = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def _exit_status(exc: DigestError) -> ExitStatus:
    if isinstance(exc, UsageError | ConfigError):
        return ExitStatus.USAGE
    if isinstance(exc, LockedError):
        return ExitStatus.LOCKED
    return ExitStatus.FAILURE
