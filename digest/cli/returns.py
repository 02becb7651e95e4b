"""``digest bounces``: returned mail (bounces, complaints) read from Maildir folders, mbox files, files or stdin."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.cli.env import Environment, config_from, signing_key, store_for
from digest.cli.parsing import CommandFactory, Parser
from digest.errors import DigestError, ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.mail.returns import Outcome

#: Where a mail server's pipe says it delivered the message (Postfix's local(8) sets these).
DELIVERED_TO = ("ORIGINAL_RECIPIENT", "RECIPIENT")
STDIN = "-"
_READ_CHUNK = 1 << 16


def cmd_bounces(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if STDIN in args.paths and len(args.paths) > 1:
        raise UsageError("'-' (one message on standard input) cannot be mixed with paths", hint="run it on its own")
    for name in args.paths:
        if name != STDIN and not Path(name).exists():
            raise UsageError(f"{name} does not exist", hint="name Maildir folders, mbox files or message files")
    if args.paths == [STDIN]:
        return _from_pipe(args, env)
    return _read_all(args, env)


def _from_pipe(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """One message from a mail server's pipe: when it cannot be recorded, EX_TEMPFAIL (the server keeps it)."""
    try:
        return _read_all(args, env)
    except (DigestError, OSError) as exc:
        text = exc.one_line() if isinstance(exc, DigestError) else f"{exc.strerror or exc}"
        env.err(f"error: {text}; the message was not recorded (exit 75: the mail server keeps it and tries again)")
        return ExitStatus.TRY_AGAIN


def _read_all(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.mail.bounces import MAX_MESSAGE
    from digest.mail.returns import ReturnedMailReader, ReturnsReport

    config = config_from(args, env)
    secret = signing_key(env, config)
    now = env.clock()
    report = ReturnsReport()
    unreadable = 0
    delivered_to = tuple(env.environ[name] for name in DELIVERED_TO if env.environ.get(name))
    with store_for(config, now) as store:
        reader = ReturnedMailReader(store, config, secret, extra_returns=delivered_to if args.paths == [STDIN] else ())
        for source, data in _messages(args.paths, env, MAX_MESSAGE):
            if isinstance(data, str):  # the file could not be read at all
                env.err(f"{source}: cannot be read: {data}")
                unreadable += 1
                continue
            outcome = reader.read(source, data, now=now)
            report.add(outcome)
            _show(outcome, args, env)
    if args.json:
        summary = {**report.outcomes, "read": report.read, "problems": report.problems + unreadable}
        env.out(json.dumps({"summary": summary}))
    elif env.is_interactive or args.verbose:
        env.out(report.summary())
    return ExitStatus.PARTIAL if report.problems or unreadable else ExitStatus.OK


def _show(outcome: Outcome, args: argparse.Namespace, env: Environment) -> None:
    if args.json:
        env.out(json.dumps(outcome.as_json(), ensure_ascii=False))
    message = outcome.message
    who = outcome.match.email if outcome.match else (message.failed[0] if message.failed else "")
    what = " ".join(part for part in (message.kind, who) if part)
    if outcome.problem:
        why = {"forged token": "its return token is forged: nothing changed", "unreadable": outcome.why}.get(
            outcome.effect, f"not matched to a reader: {outcome.why}"
        )
        env.err(f"{outcome.source}: {what}: {why}")
    elif args.verbose and not args.json:
        detail = f" ({message.detail})" if message.detail else ""
        by = f" by {outcome.match.by}" if outcome.match else ""
        env.out(f"{outcome.source}: {what}{by}{detail}: {outcome.effect}")


def _messages(paths: list[str], env: Environment, limit: int) -> Iterator[tuple[str, bytes | str]]:
    """(where, the first ``limit`` bytes of the message) for each message; a str when it could not be read."""
    for name in paths:
        if name == STDIN:
            yield STDIN, _bounded(env.input, limit, drain=True)
            continue
        path = Path(name)
        if path.is_dir():
            yield from _maildir(path, limit)
            continue
        try:
            with path.open("rb") as handle:
                if handle.read(5) == b"From ":
                    yield from _mbox(path, limit)
                else:
                    handle.seek(0)
                    yield str(path), _bounded(handle, limit)
        except OSError as exc:
            yield str(path), str(exc.strerror or exc)


def _maildir(path: Path, limit: int) -> Iterator[tuple[str, bytes | str]]:
    import mailbox

    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise UsageError(f"{path} is a folder but not a Maildir (it has no cur/ and new/)", hint="name a Maildir")
    folder = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(folder.iterkeys()):
        where = f"{path}{os.sep}{key}"
        try:
            with folder.get_file(key) as handle:
                yield where, _bounded(handle, limit)
        except (OSError, KeyError) as exc:  # (a message moved away by another reader meanwhile)
            yield where, str(getattr(exc, "strerror", None) or exc)


def _mbox(path: Path, limit: int) -> Iterator[tuple[str, bytes | str]]:
    import mailbox

    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            with box.get_file(key) as handle:
                yield f"{path}#{number}", _bounded(handle, limit)
    finally:
        box.close()


def _bounded(handle: Any, limit: int, *, drain: bool = False) -> bytes:
    """The first ``limit`` bytes; ``drain`` reads the rest away (a pipe's writer expects it all to be read)."""
    data: bytes = handle.read(limit)
    if drain:
        while handle.read(_READ_CHUNK):
            pass
    return data


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    bounces = command(
        "bounces",
        cmd_bounces,
        "Read returned mail: bounces (delivery status notifications) and complaints (ARF feedback reports) "
        "from Maildir folders, mbox files or message files, or one message on standard input ('-', for a mail "
        "server's pipe). A mailbox that does not exist marks its reader bounced; other permanent failures count "
        "towards delivery.bounce_limit; a complaint unsubscribes its reader for good. Each message counts once. "
        "Exits 3 when some message could not be matched to a reader; with '-', 75 when the message could not be "
        "recorded (the mail server keeps it and tries again).",
        "digest bounces /var/mail/bounces/ --verbose",
    )
    bounces.add_argument("paths", nargs="+", metavar="PATH", help="a Maildir folder, an mbox file, a message, or -")
    bounces.add_argument("--json", action="store_true", help="print one JSON object per message, then a summary")
