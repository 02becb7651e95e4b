"""The argument parser's shared parts: exit codes in every help, common options, argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from digest.errors import ExitStatus, UsageError

EXIT_CODES = """exit status:
  0  success
  1  failure: the command could not do its work
  2  usage or configuration error
  3  finished, but something was rejected or failed (see stderr)
  4  another digest run holds the lock; nothing was done"""


class Parser(argparse.ArgumentParser):
    """Options anywhere on the line: a command's options and arguments may come in any order.

    argparse alone stops filling a list argument at the first option (``like EMAIL --verbose
    TITLE`` would leave TITLE over); a command without subcommands is parsed intermixed instead.
    """

    _intermixing = False

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or not self._mixable():
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def _mixable(self) -> bool:
        positionals = self._get_positional_actions()
        grouped = {id(action) for group in self._mutually_exclusive_groups for action in group._group_actions}
        return bool(positionals) and not any(
            action.nargs in (argparse.PARSER, argparse.REMAINDER) or id(action) in grouped for action in positionals
        )


def common_options() -> Parser:
    """--config, --verbose and --debug, accepted before or after the command."""
    common = Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the configuration file (default: $DIGEST_CONFIG, else ./schedule.yaml)",
    )
    group.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="say what is done")
    group.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="log everything; show tracebacks"
    )
    return common


class CommandFactory(Protocol):
    def __call__(
        self, name: str, handler: Callable[..., ExitStatus], summary: str, example: str
    ) -> argparse.ArgumentParser: ...


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def positive_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


_DIGEST_NAME = re.compile(r"latest|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:-[0-9]{1,4})?|[1-9][0-9]{0,17}")


def digest_arg(text: str) -> str:
    """A digest as people name it: its date (``2026-03-14``, ``2026-03-14-2``), ``latest``, or its number."""
    name = text.strip().lower()
    if not _DIGEST_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"expected a digest's date such as 2026-03-14, 'latest', or its number; got {text!r}"
        )
    return name


def add_command(
    subparsers: argparse._SubParsersAction[Parser],
    common: Parser,
    name: str,
    handler: Callable[..., ExitStatus],
    summary: str,
    example: str,
) -> argparse.ArgumentParser:
    """A (sub)command with its summary, an example and the exit codes in its help."""
    sub = subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub.set_defaults(handler=handler)
    return sub
