"""What every command shares: the injectable environment, the config and the store."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    import argparse

    from digest.config import Config
    from digest.mail.report import SendReport
    from digest.models import IngestResult, Subscriber
    from digest.store import Store


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Environment:
    """Everything a command touches of the outside world; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], dt.datetime] = _utc_now
    interactive: bool | None = None  # None: ask whether stdout is a terminal
    stdin: BinaryIO | None = None  # None: the process's standard input, as bytes

    @property
    def input(self) -> BinaryIO:
        return self.stdin if self.stdin is not None else sys.stdin.buffer

    @property
    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    def out(self, line: str = "") -> None:
        print(line, file=self.stdout)

    def err(self, line: str) -> None:
        print(f"digest: {line}", file=self.stderr)


def config_from(args: argparse.Namespace, env: Environment, *, sends: bool = False) -> Config:
    """The validated configuration: --config, else $DIGEST_CONFIG, else ./schedule.yaml.

    ``sends``: the command may send mail, so the DKIM key (when one is configured) is parsed now, at start.
    """
    from digest.config import load_config

    path = args.config or env.environ.get("DIGEST_CONFIG") or "schedule.yaml"
    config = load_config(Path(path), env.environ)
    if sends and config.delivery.dkim is not None:
        from digest.mail.signing import signer_for

        signer_for(config)
    return config


def store_for(config: Config, now: dt.datetime) -> Store:
    from digest.site.identity import check_site
    from digest.store import open_store

    store = open_store(config.database, now=now)
    try:
        check_site(store, config.site.dir)
    except BaseException:
        store.close()
        raise
    return store


def signing_key(env: Environment, config: Config) -> bytes:
    """The key that signs unsubscribe and confirm links.

    ``DIGEST_SECRET_KEY`` when it is set. Otherwise, for the embedded default (a SQLite
    file), a key generated once and kept beside the database (``DATABASE.key``, readable
    by its owner only), so that a single machine works without setting anything; a
    PostgreSQL setup, which several machines may share, must set the variable.
    """
    from digest.store.backend import sqlite_path
    from digest.tokens import MIN_KEY_LENGTH, secret_key

    if env.environ.get("DIGEST_SECRET_KEY") or not config.database.startswith("sqlite:"):
        return secret_key(dict(env.environ))
    database = sqlite_path(config.database)
    if database == ":memory:":
        return secret_key(dict(env.environ))
    return secret_key(value=_local_key(Path(database + ".key"), MIN_KEY_LENGTH))


def existing_signing_key(env: Environment, config: Config) -> bytes | None:
    """The signing key when there is one already (the variable, or the key kept beside a SQLite database); None
    otherwise: unlike :func:`signing_key`, this never makes one."""
    from digest.errors import ConfigError
    from digest.store.backend import sqlite_path

    if env.environ.get("DIGEST_SECRET_KEY"):
        return signing_key(env, config)
    if not config.database.startswith("sqlite:") or sqlite_path(config.database) == ":memory:":
        return None
    path = Path(sqlite_path(config.database) + ".key")
    if not path.is_file():
        return None
    try:
        return signing_key(env, config)
    except (ConfigError, OSError):
        return None


def _local_key(path: Path, length: int) -> str:
    import secrets

    try:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= length:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def redacted(url: str) -> str:
    from digest.store.backend import redact

    return redact(url)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """ "1 paper", "3 papers": a count and its noun, in the number the count asks for."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rejection_line(result: IngestResult, folder: Path) -> str:
    """One stderr line for a rejected dump, saying where it went only when it went there."""
    where = f" (set aside in {folder})" if result.set_aside else ""
    return f"rejected {result.file}: {result.reason}{where}"


def send_problem_lines(report: SendReport) -> list[str]:
    """What a send leaves undone, one line each: undelivered addresses, a tripped breaker, work left."""
    lines = [f"not delivered: {error}" for error in report.errors]
    waiting = f"; {counted(report.left, 'delivery', 'deliveries')} stay queued for a later run" if report.left else ""
    if report.halted:
        lines.append(f"stopped sending: {report.halted}{waiting}")
    elif report.stopped and report.left:
        lines.append(f"stopped on request{waiting}")
    elif report.left_with_others:
        lines.append(
            f"{counted(report.left, 'delivery', 'deliveries')} not finished"
            f" ({report.left_with_others} being sent by another worker)"
        )
    elif report.left:
        why = f": {report.server_error}" if report.server_error else ""
        lines.append(f"{report.left} {'delivery waits' if report.left == 1 else 'deliveries wait'} to be retried{why}")
    if not report.digest_id:  # a week's mails: say which, as a daily digest's lines need not
        lines = [f"weekly mails ({report.slug}): {line}" for line in lines]
    return lines


def send_confirmation_to(config: Config, subscriber: Subscriber, secret: bytes | None, now: dt.datetime) -> None:
    from digest.mail.confirmation import send_confirmation

    assert secret is not None
    send_confirmation(config, subscriber, secret=secret, now=now)
