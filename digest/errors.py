"""The error vocabulary of digest.

Every error carries a one-line message that says what is wrong and a hint
that says how to fix it. ``digest.cli`` is the only place that turns them into
exit codes and printed sentences.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Exit codes of every ``digest`` command (documented in the README)."""

    OK = 0
    FAILURE = 1  # the command could not do its work
    USAGE = 2  # bad command line or configuration
    PARTIAL = 3  # finished, but something was rejected or failed
    LOCKED = 4  # another run holds the lock; nothing was done
    TRY_AGAIN = 75  # (digest bounces -) the message was not recorded: the mail server keeps it (EX_TEMPFAIL)


class DigestError(Exception):
    """Root of every error digest raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def one_line(self) -> str:
        """The message and its hint as one sentence, for a terminal or a log."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(DigestError):
    """The command line asks for something that cannot be done."""

    hint = "see 'digest --help'"


class ConfigError(DigestError):
    """schedule.yaml or the environment holds a bad value."""

    def __init__(self, source: str, key: str, problem: str, *, hint: str | None = None) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}", hint=hint)
        self.source = source
        self.key = key


class DumpError(DigestError):
    """A dump cannot be parsed with confidence."""

    hint = "fix the file and drop it into the inbox again"

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        message = f"line {line}: {reason}" if line is not None else reason
        super().__init__(message)
        self.reason = reason
        self.line = line


class StoreError(DigestError):
    """The history database cannot be opened, migrated or written."""

    hint = "check 'database' in schedule.yaml or DIGEST_DATABASE_URL"


class LockedError(DigestError):
    """Another run holds the lock."""

    hint = "another digest run is working; try again when it has finished"
