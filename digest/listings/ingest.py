"""Ingest: dump files -> parsed -> diffed against the history -> recorded.

Order: pending inbox dumps are processed oldest first, by the dump's own date
when it has one, else by the date it arrived (its modification time, in the
configured timezone); ties go to the earlier arrival, then to the file name.
Files named on the command line are processed in the order given.

Each dump is recorded in its own transaction that also holds the writers'
lock, so overlapping runs queue up and never record a paper twice. A dump that
cannot be parsed is set aside in ``inbox/rejected/`` with its reason, and the
run goes on with the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.config import Config
from digest.errors import DumpError
from digest.listings.diff import diff_dump, identify
from digest.listings.formats import parse_decoded
from digest.listings.formats.text import content_hash, decode, peek_date
from digest.listings.inbox import InboxFile, read_listing, scan_inbox, set_aside, stat_file
from digest.models import IngestResult
from digest.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestContext:
    inbox: Path
    timezone: ZoneInfo
    now: dt.datetime
    settle: dt.timedelta = dt.timedelta(0)  # inbox files younger than this wait for a later pass
    rejected: Path | None = None  # where rejected dumps go; None: inbox/rejected

    @property
    def rejected_folder(self) -> Path:
        return self.rejected or self.inbox / "rejected"

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.timezone).date()

    def arrival_date(self, file: InboxFile) -> dt.date:
        return file.arrived_at.astimezone(self.timezone).date()


def ingest_context(config: Config, now: dt.datetime) -> IngestContext:
    """The context of an ingest run with this configuration, at ``now``."""
    return IngestContext(
        inbox=config.inbox, timezone=config.timezone, now=now, settle=config.inbox_settle, rejected=config.rejected
    )


def ingest_pending(store: Store, context: IngestContext) -> list[IngestResult]:
    """Ingest every pending dump of the inbox, oldest first; a dump that waits to settle is said first."""
    scan = scan_inbox(context.inbox, store.history.processed_files(), now=context.now, settle=context.settle)
    waiting = [waiting_result(file, context) for file in order_pending(scan.waiting, context)]
    results = (ingest_file(store, file, context, from_inbox=True) for file in order_pending(scan.ready, context))
    return waiting + [result for result in results if result is not None]


def waiting_result(file: InboxFile, context: IngestContext) -> IngestResult:
    """A dump modified too recently to be read: it may still be being written, and a later pass reads it."""
    age = (context.now - file.arrived_at).total_seconds()
    return IngestResult(
        file=file.name,
        sha256=None,
        date=None,
        status="waiting",
        reason=f"modified {age:.0f} s ago; read once it is {context.settle.total_seconds():g} s old (inbox_settle),"
        " in case it is still being written",
    )


def ingest_paths(store: Store, paths: Sequence[Path], context: IngestContext) -> list[IngestResult]:
    """Ingest the named files, in the order given."""
    results = []
    for path in paths:
        try:
            file = stat_file(path)
        except OSError as exc:
            results.append(_unreadable(path, exc))
            continue
        from_inbox = path.resolve().parent == context.inbox.resolve()
        result = ingest_file(store, file, context, from_inbox=from_inbox)
        if result is not None:
            results.append(result)
    return results


def order_pending(files: Sequence[InboxFile], context: IngestContext) -> list[InboxFile]:
    """Oldest first: the dump's own date (else its arrival date), then arrival time, then name."""

    def key(file: InboxFile) -> tuple[dt.date, dt.datetime, str]:
        try:
            head = file.path.open("rb").read(4096)
        except OSError:
            head = b""
        own_date = peek_date(head, today=context.today)
        return (own_date or context.arrival_date(file), file.arrived_at, file.name)

    return sorted(files, key=key)


def ingest_file(store: Store, file: InboxFile, context: IngestContext, *, from_inbox: bool) -> IngestResult | None:
    """Ingest one file; None when an overlapping run processed it meanwhile."""
    name = file.name
    if file.problem is not None:
        return _reject(store, file, context, sha256=None, data=b"", reason=file.problem, from_inbox=from_inbox)
    try:
        data = read_listing(file.path)
    except OSError as exc:
        reason = f"cannot read the file: {exc.strerror or exc}"
        return _reject(store, file, context, sha256=None, data=b"", reason=reason, from_inbox=from_inbox)
    except DumpError as exc:
        return _reject(store, file, context, sha256=None, data=b"", reason=exc.message, from_inbox=from_inbox)
    try:
        text = decode(data)
        sha256 = content_hash(text)
    except DumpError as exc:
        return _reject(store, file, context, sha256=None, data=data, reason=exc.message, from_inbox=from_inbox)
    try:
        dump = parse_decoded(text, data, today=context.today)
    except DumpError as exc:
        return _reject(store, file, context, sha256=sha256, data=data, reason=exc.message, from_inbox=from_inbox)
    for note in dump.skipped:
        log.warning("%s: left out %s", name, note)

    dump_date = dump.listed_on or context.arrival_date(file)
    identified = identify(dump.papers)
    with store.transaction(exclusive=True):
        history = store.history
        if from_inbox and history.is_processed(name, size=file.size, mtime_ns=file.mtime_ns):
            return None  # another run took this file while this one waited for the lock
        existing = history.dump_by_hash(sha256)
        if existing is not None and existing.status == "ingested":
            result = IngestResult(
                file=name,
                sha256=sha256,
                date=existing.dump_date,
                status="duplicate",
                reason=f"same content as {existing.file_name}, ingested {existing.ingested_at:%Y-%m-%d %H:%M} UTC",
                papers=existing.paper_count,
                new=0,
            )
        else:
            diff = diff_dump(
                identified,
                known_keys=history.known_title_keys(item.key for item in identified),
                known_fingerprints=history.known_fingerprints(item.fingerprint for item in identified),
                known_ids=history.known_arxiv_ids(item.arxiv_id for item in identified),
            )
            history.record_dump(
                sha256=sha256,
                file_name=name,
                listed_on=dump.listed_on,
                dump_date=dump_date,
                arrived_at=file.arrived_at,
                ingested_at=context.now,
                diff=diff,
            )
            history.complete_abstracts(
                (entry.known_id, entry.paper.abstract, entry.fingerprint)
                for entry in diff.entries
                if entry.known_id is not None
            )
            # Votes that named one of these papers before any listing brought it (by arXiv id or title) join it.
            store.profiles.join_waiting(
                [f"title:{entry.key}" for entry in diff.entries]
                + [f"arxiv:{entry.paper.details.arxiv_id}" for entry in diff.entries if entry.paper.details.arxiv_id]
            )
            new = diff.new
            result = IngestResult(
                file=name,
                sha256=sha256,
                date=dump_date,
                status="ingested",
                papers=len(diff.entries),
                new=len(new),
                new_titles=tuple(entry.paper.title for entry in new),
            )
        if from_inbox:
            history.mark_processed(
                name=name,
                size=file.size,
                mtime_ns=file.mtime_ns,
                sha256=sha256,
                status=result.status,
                now=context.now,
            )
    log.debug("%s: %s, %d papers, %d new", name, result.status, result.papers, result.new)
    return result


def _reject(
    store: Store,
    file: InboxFile,
    context: IngestContext,
    *,
    sha256: str | None,
    data: bytes,
    reason: str,
    from_inbox: bool,
) -> IngestResult:
    """Record a rejected file and set it aside; say truthfully when it could not be moved."""
    sha256 = sha256 or _raw_hash(data or f"{file.name}:{file.size}:{file.mtime_ns}".encode())
    moved = True
    with store.transaction(exclusive=True):
        try:
            set_aside(file.path, inbox=context.inbox, folder=context.rejected_folder, reason=reason)
        except FileNotFoundError:
            pass  # another run set it aside already
        except OSError as exc:
            moved = False
            reason += f"; it could not be moved to {context.rejected_folder} ({exc.strerror or exc})"
            reason += ", and is skipped until it changes"
        store.history.record_rejected(
            sha256=sha256,
            file_name=file.name,
            arrived_at=file.arrived_at,
            ingested_at=context.now,
            dump_date=context.arrival_date(file),
            reason=reason,
        )
        if from_inbox and not moved:
            # Remember it, so that it is not reported again every run (until it changes).
            store.history.mark_processed(
                name=file.name,
                size=file.size,
                mtime_ns=file.mtime_ns,
                sha256=sha256,
                status="rejected",
                now=context.now,
            )
    return IngestResult(file=file.name, sha256=sha256, date=None, status="rejected", reason=reason, set_aside=moved)


def _unreadable(path: Path, exc: OSError) -> IngestResult:
    return IngestResult(
        file=path.name, sha256=None, date=None, status="rejected", reason=f"cannot read the file: {exc.strerror}"
    )


def _raw_hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
