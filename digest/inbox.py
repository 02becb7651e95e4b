"""The inbox folder: which dumps are waiting, and setting bad ones aside.

A dump is a ``*.txt`` file directly in the inbox (hidden files and
sub-folders are ignored, so write a dump under a dot-name and rename it
into place). A file counts as processed once the history records its name
with the same size and modification time; a changed file is looked at again
(and is a ``duplicate`` if its content was ingested before).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digest.errors import ConfigError
from digest.files import write_atomic

REJECTED_FOLDER = "rejected"


@dataclass(frozen=True, slots=True)
class InboxFile:
    path: Path
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrived_at(self) -> dt.datetime:
        """When the file arrived: its modification time."""
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)


def stat_file(path: Path) -> InboxFile:
    info = path.stat()
    return InboxFile(path=path, size=info.st_size, mtime_ns=info.st_mtime_ns)


def pending_files(inbox: Path, processed: Mapping[str, tuple[int, int]]) -> list[InboxFile]:
    """Dumps in ``inbox`` not yet processed, in no particular order.

    A missing inbox is an error, not an empty day: a misspelt path must not pass in silence.
    """
    if not inbox.is_dir():
        raise ConfigError(
            "configuration",
            "inbox",
            f"the folder {inbox} does not exist",
            hint="create it, or fix 'inbox' in schedule.yaml",
        )
    pending = []
    for entry in os.scandir(inbox):
        if entry.name.startswith(".") or not entry.name.endswith(".txt") or not entry.is_file():
            continue
        info = entry.stat()
        if processed.get(entry.name) == (info.st_size, info.st_mtime_ns):
            continue
        pending.append(InboxFile(Path(entry.path), info.st_size, info.st_mtime_ns))
    return pending


def set_aside(path: Path, *, inbox: Path, reason: str) -> Path:
    """Move a rejected dump to ``inbox/rejected/`` with a ``.reason`` file beside it.

    A file from outside the inbox is copied, not moved. Returns the new path.
    An existing file of the same name is never overwritten.
    """
    folder = inbox / REJECTED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    write_atomic(target.with_name(target.name + ".reason"), reason.rstrip("\n") + "\n")
    if path.resolve().parent == inbox.resolve():
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
