"""The inbox folder: which dumps are waiting, and setting bad ones aside.

A dump is a ``*.txt`` file (or a ``.json``, ``.xml``, ``.rss`` or ``.atom``
listing) directly in the inbox (hidden files and sub-folders are ignored, so write a dump under a dot-name and rename it
into place). A file modified less than the settle time ago may still be
being written: it waits for a later pass. An entry that cannot be read (a
symlink loop, no permission) is reported with its reason and set aside,
never allowed to stop the other dumps. A file counts as processed once the history records its name
with the same size and modification time; a changed file is looked at again
(and is a ``duplicate`` if its content was ingested before).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digest.errors import ConfigError
from digest.files import write_atomic
from digest.listings.formats.bounds import MAX_BYTES, check_bytes

log = logging.getLogger(__name__)


#: What a listing's file may be called: a text dump, a daily-papers JSON listing, an RSS or Atom feed.
LISTING_SUFFIXES = (".txt", ".json", ".xml", ".rss", ".atom")


@dataclass(frozen=True, slots=True)
class InboxFile:
    path: Path
    size: int
    mtime_ns: int
    problem: str | None = None  # why the entry cannot be read, when it cannot

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrived_at(self) -> dt.datetime:
        """When the file arrived: its modification time."""
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)


def read_listing(path: Path) -> bytes:
    """A listing file's bytes; a file larger than a listing may be is rejected (DumpError) without being read
    (and one that grows while it is read is not read on)."""
    with path.open("rb") as opened:
        check_bytes(os.fstat(opened.fileno()).st_size)
        data = opened.read(MAX_BYTES + 1)
    check_bytes(len(data))
    return data


def stat_file(path: Path) -> InboxFile:
    info = path.stat()
    return InboxFile(path=path, size=info.st_size, mtime_ns=info.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class InboxScan:
    ready: list[InboxFile]  # not yet processed, in no particular order
    waiting: list[InboxFile]  # modified too recently: may still be being written


def pending_files(
    inbox: Path,
    processed: Mapping[str, tuple[int, int]],
    *,
    now: dt.datetime | None = None,
    settle: dt.timedelta = dt.timedelta(0),
) -> list[InboxFile]:
    """Dumps in ``inbox`` not yet processed and settled, in no particular order (see :func:`scan_inbox`)."""
    return scan_inbox(inbox, processed, now=now, settle=settle).ready


def scan_inbox(
    inbox: Path,
    processed: Mapping[str, tuple[int, int]],
    *,
    now: dt.datetime | None = None,
    settle: dt.timedelta = dt.timedelta(0),
) -> InboxScan:
    """Dumps in ``inbox`` not yet processed: those ready, and those that wait to settle.

    A missing inbox is an error, not an empty day: a misspelt path must not pass in silence.
    Files modified less than ``settle`` before ``now`` wait for a later pass (a
    modification time after ``now`` is a clock disagreement, not a file being written).
    """
    if not inbox.is_dir():
        raise ConfigError(
            "configuration",
            "inbox",
            f"the folder {inbox} does not exist",
            hint="create it, or fix 'inbox' in schedule.yaml",
        )
    pending = []
    waiting = []
    for entry in os.scandir(inbox):
        if entry.name.startswith(".") or not entry.name.lower().endswith(LISTING_SUFFIXES):
            continue
        try:
            if not entry.is_file():
                continue
            info = entry.stat()
        except OSError as exc:
            pending.append(_unreadable_entry(entry, exc))
            continue
        if processed.get(entry.name) == (info.st_size, info.st_mtime_ns):
            continue
        file = InboxFile(Path(entry.path), info.st_size, info.st_mtime_ns)
        if now is not None and dt.timedelta(0) <= now - file.arrived_at < settle:
            waiting.append(file)
            continue
        pending.append(file)
    return InboxScan(pending, waiting)


def _unreadable_entry(entry: os.DirEntry[str], exc: OSError) -> InboxFile:
    """An inbox entry that cannot be read, described by the link itself (which can always be stat'ed)."""
    try:
        info = entry.stat(follow_symlinks=False)
        size, mtime_ns = info.st_size, info.st_mtime_ns
    except OSError:
        size, mtime_ns = -1, -1
    return InboxFile(Path(entry.path), size, mtime_ns, problem=f"cannot read the file: {exc.strerror or exc}")


def set_aside(path: Path, *, inbox: Path, folder: Path, reason: str) -> Path:
    """Move a rejected dump to ``folder`` (``inbox/rejected/`` by default) with a ``.reason`` file beside it.

    A file from outside the inbox is copied, not moved. Returns the new path.
    An existing file of the same name is never overwritten.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    write_atomic(target.with_name(target.name + ".reason"), reason.rstrip("\n") + "\n")
    if path.parent.resolve() == inbox.resolve():
        os.replace(path, target)
    else:
        shutil.copy2(path, target)
    return target


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    counter = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".reason").exists():
        stem, dot, suffix = name.rpartition(".")
        candidate = folder / (f"{stem}.{counter}{dot}{suffix}" if dot else f"{name}.{counter}")
        counter += 1
    return candidate
