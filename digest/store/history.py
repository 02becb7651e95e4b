"""The history of dumps and papers: what has been seen, when, and where."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from digest.models import NO_DETAILS, DiffEntry, DumpDiff, DumpRecord, Link, PaperDetails, StoredPaper
from digest.store.backend import Database

#: Look-ups ask for at most this many keys in one statement.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    dumps: int
    rejected: int
    papers: int
    last_dump: DumpRecord | None


DUMP_COLUMNS = "id, sha256, file_name, listed_on, dump_date, ingested_at, status, reason, paper_count, new_count"
PAPER_COLUMNS = (
    "id, title, abstract, links, first_dump_id, first_rank, first_seen_on, first_seen_at,"
    " arxiv_id, authors, upvotes, summary"
)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _details(details: PaperDetails) -> tuple[str | None, str, int | None, str | None]:
    return details.arxiv_id, json.dumps(list(details.authors), ensure_ascii=False), details.upvotes, details.summary


def links_to_json(links: Iterable[Link]) -> str:
    return json.dumps([[link.url, link.kind] for link in links], separators=(",", ":"))


def links_from_json(text: str) -> tuple[Link, ...]:
    return tuple(Link(url=url, kind=kind) for url, kind in json.loads(text))


def paper_from_row(row: Sequence[object]) -> StoredPaper:
    id_, title, abstract, links, first_dump_id, first_rank, first_seen_on, first_seen_at, *details = row
    arxiv, authors, upvotes, summary = details
    return StoredPaper(
        id=int(id_),  # type: ignore[call-overload]
        title=str(title),
        abstract=str(abstract),
        links=links_from_json(str(links)),
        first_dump_id=int(first_dump_id),  # type: ignore[call-overload]
        first_rank=int(first_rank),  # type: ignore[call-overload]
        first_seen_on=first_seen_on,  # type: ignore[arg-type]
        first_seen_at=first_seen_at,  # type: ignore[arg-type]
        details=PaperDetails(
            arxiv_id=str(arxiv) if arxiv else None,
            authors=tuple(json.loads(str(authors or "[]"))),
            upvotes=int(upvotes) if upvotes is not None else None,  # type: ignore[call-overload]
            summary=str(summary) if summary else None,
        ),
    )


class History:
    """Dumps, papers, their title keys and sightings."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- look-ups the diff needs -------------------------------------------------

    def known_title_keys(self, keys: Iterable[str]) -> dict[str, int]:
        return self._lookup("SELECT key, paper_id FROM title_keys WHERE key IN ({})", keys)

    def known_fingerprints(self, fingerprints: Iterable[str | None]) -> dict[str, int]:
        return self._lookup(
            "SELECT abstract_hash, MIN(id) FROM papers WHERE abstract_hash IN ({}) GROUP BY abstract_hash",
            (fp for fp in fingerprints if fp),
        )

    def _lookup(self, template: str, values: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(values))):
            sql = template.format(", ".join("?" * len(chunk)))
            found.update((str(key), int(paper_id)) for key, paper_id in self.db.execute(sql, chunk))
        return found

    # -- dumps ---------------------------------------------------------------------

    def dump_by_hash(self, sha256: str) -> DumpRecord | None:
        rows = self.db.execute(f"SELECT {DUMP_COLUMNS} FROM dumps WHERE sha256 = ?", (sha256,))
        return DumpRecord(*rows[0]) if rows else None

    def record_dump(
        self,
        *,
        sha256: str,
        file_name: str,
        listed_on: dt.date | None,
        dump_date: dt.date,
        arrived_at: dt.datetime,
        ingested_at: dt.datetime,
        diff: DumpDiff,
    ) -> int:
        """Record an ingested dump, its new papers, revised titles and sightings; return its id.

        Call inside ``db.transaction(exclusive=True)``, after the look-ups that
        built ``diff``, so that no other writer slips in between.
        """
        new_entries = diff.new
        dump_id = self._upsert_dump(
            sha256=sha256,
            file_name=file_name,
            listed_on=listed_on,
            dump_date=dump_date,
            arrived_at=arrived_at,
            ingested_at=ingested_at,
            status="ingested",
            reason=None,
            paper_count=len(diff.entries),
            new_count=len(new_entries),
        )
        self.db.execute_many(
            "INSERT INTO papers (title, abstract, abstract_hash, links, first_dump_id, first_rank,"
            " first_seen_on, first_seen_at, arxiv_id, authors, upvotes, summary)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    entry.paper.title,
                    entry.paper.abstract,
                    entry.fingerprint,
                    links_to_json(entry.paper.links),
                    dump_id,
                    entry.paper.rank,
                    dump_date,
                    ingested_at,
                    *_details(entry.paper.details),
                )
                for entry in new_entries
            ],
        )
        self._lend_details(entry for entry in diff.entries if not entry.is_new)
        # (first_dump_id, first_rank) is unique: read the new ids back in one query.
        new_ids = {
            int(rank): int(paper_id)
            for paper_id, rank in self.db.execute(
                "SELECT id, first_rank FROM papers WHERE first_dump_id = ?", (dump_id,)
            )
        }
        paper_ids = [
            entry.known_id if entry.known_id is not None else new_ids[entry.paper.rank] for entry in diff.entries
        ]
        self.db.execute_many(
            "INSERT INTO title_keys (key, paper_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            [
                (entry.key, paper_id)
                for entry, paper_id in zip(diff.entries, paper_ids, strict=True)
                if entry.is_new or entry.revised
            ],
        )
        self.db.execute_many(
            "UPDATE papers SET title = ? WHERE id = ?",
            [(entry.paper.title, entry.known_id) for entry in diff.revised],
        )
        self.db.execute_many(
            "INSERT INTO sightings (dump_id, paper_id, rank, title) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (dump_id, paper_id) DO NOTHING",
            [
                (dump_id, paper_id, entry.paper.rank, entry.paper.title)
                for entry, paper_id in zip(diff.entries, paper_ids, strict=True)
            ],
        )
        return dump_id

    def known_arxiv_ids(self, ids: Iterable[str | None]) -> dict[str, int]:
        return self._lookup("SELECT arxiv_id, id FROM papers WHERE arxiv_id IN ({})", (i for i in ids if i))

    def _lend_details(self, entries: Iterable[DiffEntry]) -> None:
        """Known papers take what a listing says of them and the history lacks: an id, authors, links.

        An id another paper of the history already has is not taken (a unique index guards it).
        """
        rows = []
        for entry in entries:
            details = entry.paper.details
            if details == NO_DETAILS:  # a text dump: it has nothing to lend that the history lacks
                continue
            arxiv, authors, upvotes, summary = _details(details)
            links = links_to_json(entry.paper.links) if entry.paper.links else None
            rows.append((arxiv, arxiv, authors, authors, upvotes, summary, links, links, entry.known_id))
        self.db.execute_many(
            "UPDATE papers SET"
            " arxiv_id = COALESCE(arxiv_id, CASE WHEN NOT EXISTS"
            " (SELECT 1 FROM papers other WHERE other.arxiv_id = CAST(? AS TEXT)) THEN CAST(? AS TEXT) END),"
            " authors = CASE WHEN authors = '[]' AND CAST(? AS TEXT) <> '[]' THEN CAST(? AS TEXT) ELSE authors END,"
            " upvotes = COALESCE(CAST(? AS INTEGER), upvotes), summary = COALESCE(summary, CAST(? AS TEXT)),"
            " links = CASE WHEN links = '[]' AND CAST(? AS TEXT) IS NOT NULL THEN CAST(? AS TEXT) ELSE links END"
            " WHERE id = ?",
            rows,
        )

    def complete_abstracts(self, listed: Iterable[tuple[int, str, str | None]]) -> None:
        """Give known papers the longer abstract a later listing shows.

        ``listed`` holds (paper id, abstract as now listed, its fingerprint). A
        stored abstract that is a strict prefix of the listed one was cut short (a
        dump copied while it was still being written); any other difference is left
        alone. Call inside the ingest transaction.
        """
        rows = [(abstract, fingerprint, paper_id, abstract, abstract) for paper_id, abstract, fingerprint in listed]
        self.db.execute_many(
            "UPDATE papers SET abstract = ?, abstract_hash = COALESCE(?, abstract_hash)"
            " WHERE id = ? AND LENGTH(abstract) < LENGTH(?) AND SUBSTR(?, 1, LENGTH(abstract)) = abstract",
            rows,
        )

    def record_rejected(
        self,
        *,
        sha256: str,
        file_name: str,
        arrived_at: dt.datetime,
        ingested_at: dt.datetime,
        dump_date: dt.date,
        reason: str,
    ) -> int:
        return self._upsert_dump(
            sha256=sha256,
            file_name=file_name,
            listed_on=None,
            dump_date=dump_date,
            arrived_at=arrived_at,
            ingested_at=ingested_at,
            status="rejected",
            reason=reason,
            paper_count=0,
            new_count=0,
        )

    def _upsert_dump(self, **values: object) -> int:
        columns = list(values)
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column != "sha256")
        rows = self.db.execute(
            f"INSERT INTO dumps ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT (sha256) DO UPDATE SET {updates} RETURNING id",
            tuple(values.values()),
        )
        return int(rows[0][0])

    # -- inbox bookkeeping -------------------------------------------------------------

    def processed_files(self) -> dict[str, tuple[int, int]]:
        """Inbox file names already processed, with the (size, mtime_ns) seen then."""
        return {
            str(name): (int(size), int(mtime))
            for name, size, mtime in self.db.execute("SELECT name, size, mtime_ns FROM inbox_files")
        }

    def is_processed(self, name: str, *, size: int, mtime_ns: int) -> bool:
        rows = self.db.execute("SELECT size, mtime_ns FROM inbox_files WHERE name = ?", (name,))
        return bool(rows) and (int(rows[0][0]), int(rows[0][1])) == (size, mtime_ns)

    def mark_processed(
        self, *, name: str, size: int, mtime_ns: int, sha256: str | None, status: str, now: dt.datetime
    ) -> None:
        self.db.execute(
            "INSERT INTO inbox_files (name, size, mtime_ns, sha256, status, processed_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, status = excluded.status,"
            " processed_at = excluded.processed_at",
            (name, size, mtime_ns, sha256, status, now),
        )

    # -- reading -------------------------------------------------------------------------

    def papers(self, *, since: dt.date | None = None, limit: int | None = 50) -> list[StoredPaper]:
        """Papers newest first (by first-seen date, then listing order)."""
        sql = f"SELECT {PAPER_COLUMNS} FROM papers"
        params: list[object] = []
        if since is not None:
            sql += " WHERE first_seen_on >= ?"
            params.append(since)
        sql += " ORDER BY first_seen_on DESC, first_dump_id DESC, first_rank ASC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [paper_from_row(row) for row in self.db.execute(sql, params)]

    def counts(self) -> HistoryCounts:
        ((dumps, rejected),) = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) FROM dumps"
        )
        ((papers,),) = self.db.execute("SELECT COUNT(*) FROM papers")
        last = self.db.execute(f"SELECT {DUMP_COLUMNS} FROM dumps WHERE status = 'ingested' ORDER BY id DESC LIMIT 1")
        return HistoryCounts(
            dumps=int(dumps) - int(rejected),
            rejected=int(rejected),
            papers=int(papers),
            last_dump=DumpRecord(*last[0]) if last else None,
        )
