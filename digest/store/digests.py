"""Published digests: which papers each one carried, and the watermark between them.

A digest covers the ingested dumps after the previous digest's last dump (in
ingest order); each paper belongs to at most one digest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from digest.models import Digest, DumpRecord, StoredPaper, Topic
from digest.store.backend import Database
from digest.store.history import DUMP_COLUMNS, PAPER_COLUMNS, paper_from_row

_P_COLUMNS = ", ".join(f"p.{column.strip()}" for column in PAPER_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A published digest without its papers (for the archive index and status)."""

    id: int
    slug: str
    date: dt.date
    paper_count: int
    seen_before: int
    published_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    paper: StoredPaper
    digest_slug: str
    published_at: dt.datetime  # when its digest was published
    page_slug: str | None = None  # the archive page that shows it, when not its digest's (a week not yet queued)
    index: int = 0  # its place in the digest (or in page_slug's): which of its archive pages holds it


class Digests:
    def __init__(self, db: Database) -> None:
        self.db = db

    def watermark(self) -> int:
        """The last dump id covered by a published digest (0 when there is none)."""
        ((value,),) = self.db.execute("SELECT COALESCE(MAX(last_dump_id), 0) FROM digests")
        return int(value)

    def last_dump_id(self) -> int:
        """The newest dump recorded (ingested or not): a listing may have changed papers since an older one."""
        ((value,),) = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM dumps")
        return int(value)

    def dumps_after(self, watermark: int) -> list[DumpRecord]:
        rows = self.db.execute(
            f"SELECT {DUMP_COLUMNS} FROM dumps WHERE id > ? AND status = 'ingested' ORDER BY id", (watermark,)
        )
        return [DumpRecord(*row) for row in rows]

    def papers_first_seen_in(self, first_dump_id: int, last_dump_id: int) -> list[StoredPaper]:
        """Papers first seen in the dumps with ids in the range, newest dump first, then by rank."""
        rows = self.db.execute(
            f"SELECT {_P_COLUMNS} FROM papers p JOIN dumps d ON d.id = p.first_dump_id"
            " WHERE p.first_dump_id BETWEEN ? AND ?"
            " AND NOT EXISTS (SELECT 1 FROM digest_papers dp WHERE dp.paper_id = p.id)"
            " ORDER BY d.dump_date DESC, d.id DESC, p.first_rank",
            (first_dump_id, last_dump_id),
        )
        return [paper_from_row(row) for row in rows]

    def listed_earlier(self, first_dump_id: int, last_dump_id: int) -> int:
        """Papers the dumps ``first..last`` list that were first seen before them (so an earlier digest held them)."""
        rows = self.db.execute(
            "SELECT COUNT(DISTINCT s.paper_id) FROM sightings s JOIN papers p ON p.id = s.paper_id"
            " WHERE s.dump_id BETWEEN ? AND ? AND p.first_dump_id < ?",
            (first_dump_id, last_dump_id, first_dump_id),
        )
        return int(rows[0][0])

    def slugs(self) -> set[str]:
        return {str(row[0]) for row in self.db.execute("SELECT slug FROM digests")}

    def record(self, digest: Digest) -> int:
        """Record a digest and its papers; call inside an exclusive transaction."""
        ((digest_id,),) = self.db.execute(
            "INSERT INTO digests (slug, digest_date, first_dump_id, last_dump_id, paper_count, seen_before,"
            " dump_dates, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                digest.slug,
                digest.date,
                digest.first_dump_id,
                digest.last_dump_id,
                digest.new_count,
                digest.seen_before,
                json.dumps([day.isoformat() for day in digest.dump_dates]),
                digest.published_at,
            ),
        )
        self.db.execute_many(
            "INSERT INTO digest_papers (digest_id, position, paper_id) VALUES (?, ?, ?)",
            [(digest_id, position, paper.id) for position, paper in enumerate(digest.papers, start=1)],
        )
        return int(digest_id)

    def published(self) -> list[DigestRecord]:
        """Every published digest, newest first."""
        rows = self.db.execute(
            "SELECT id, slug, digest_date, paper_count, seen_before, published_at FROM digests ORDER BY id DESC"
        )
        return [DigestRecord(int(r[0]), str(r[1]), r[2], int(r[3]), int(r[4]), r[5]) for r in rows]

    def named(self, name: str | None) -> Digest | None:
        """The digest a person names: its slug (its date), ``latest`` (or None), or its number."""
        if name is None or name == "latest":
            return self.get()
        if name.isascii() and name.isdigit():
            return self.get(int(name))
        rows = self.db.execute("SELECT id FROM digests WHERE slug = ?", (name,))
        return self.get(int(rows[0][0])) if rows else None

    def latest_id(self) -> int | None:
        rows = self.db.execute("SELECT MAX(id) FROM digests")
        return int(rows[0][0]) if rows[0][0] is not None else None

    def get(self, digest_id: int | None = None) -> Digest | None:
        """A published digest with its papers; the latest when ``digest_id`` is None."""
        where, params = ("WHERE id = ?", (digest_id,)) if digest_id is not None else ("", ())
        rows = self.db.execute(
            "SELECT id, slug, digest_date, first_dump_id, last_dump_id, seen_before, dump_dates, published_at"
            f" FROM digests {where} ORDER BY id DESC LIMIT 1",
            params,
        )
        if not rows:
            return None
        id_, slug, date, first, last, seen_before, dump_dates, published_at = rows[0]
        papers = self.db.execute(
            f"SELECT {_P_COLUMNS} FROM digest_papers dp JOIN papers p ON p.id = dp.paper_id"
            " WHERE dp.digest_id = ? ORDER BY dp.position",
            (id_,),
        )
        return Digest(
            slug=str(slug),
            date=date,
            papers=tuple(paper_from_row(row) for row in papers),
            seen_before=int(seen_before),
            dump_dates=tuple(dt.date.fromisoformat(day) for day in json.loads(dump_dates)),
            first_dump_id=int(first),
            last_dump_id=int(last),
            published_at=published_at,
            id=int(id_),
        )

    def topics(self, digest_id: int) -> list[Topic] | None:
        """The topics kept for a digest; None when none were kept (published before topics were)."""
        rows = self.db.execute("SELECT topics FROM digests WHERE id = ?", (digest_id,))
        if not rows or rows[0][0] is None:
            return None
        return [Topic(str(label), tuple(int(i) for i in members)) for label, members in json.loads(str(rows[0][0]))]

    def published_under(self, paper_ids: Sequence[int]) -> dict[int, tuple[int, str, int]]:
        """For each paper of ``paper_ids`` that a digest holds: that digest's id, its slug and the paper's index."""
        found: dict[int, tuple[int, str, int]] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT dp.paper_id, d.id, d.slug, dp.position FROM digest_papers dp JOIN digests d"
                f" ON d.id = dp.digest_id WHERE dp.paper_id IN ({marks})",
                chunk,
            )
            for paper, digest, slug, position in rows:
                found[int(paper)] = (int(digest), str(slug), int(position) - 1)
        return found

    def keep_topics(self, digest_id: int, topics: Sequence[Topic]) -> None:
        value = json.dumps([[topic.label, list(topic.members)] for topic in topics])
        self.db.execute("UPDATE digests SET topics = ? WHERE id = ?", (value, digest_id))

    def feed_items(self, limit: int) -> list[FeedItem]:
        """The most recent papers of published digests, newest first."""
        rows = self.db.execute(
            f"SELECT {_P_COLUMNS}, d.slug, d.published_at, dp.position FROM digest_papers dp"
            " JOIN papers p ON p.id = dp.paper_id JOIN digests d ON d.id = dp.digest_id"
            " ORDER BY d.id DESC, dp.position LIMIT ?",
            (limit,),
        )
        return [FeedItem(paper_from_row(row[:-3]), str(row[-3]), row[-2], index=int(row[-1]) - 1) for row in rows]

    def to_send(self) -> list[int]:
        """Digests with work for a sender, oldest first: never queued, or with open deliveries."""
        rows = self.db.execute(
            "SELECT id FROM digests d WHERE d.queued_at IS NULL OR EXISTS (SELECT 1 FROM deliveries l"
            " WHERE l.digest_id = d.id AND l.status IN ('queued', 'sending')) ORDER BY id"
        )
        return [int(row[0]) for row in rows]

    def mark_queued(self, digest_id: int, *, now: dt.datetime) -> bool:
        """Record that the digest was queued; False when it had been already."""
        rows = self.db.execute(
            "UPDATE digests SET queued_at = ? WHERE id = ? AND queued_at IS NULL RETURNING id", (now, digest_id)
        )
        return bool(rows)
