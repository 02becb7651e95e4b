"""Weeks of weekly mails: when each fell due, which digests its archive page holds, and how its mails went."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from digest.models import Topic
from digest.store.backend import Database
from digest.store.ledger import LedgerCounts


@dataclass(frozen=True, slots=True)
class Week:
    week: dt.date  # its send day (local), which names it
    due_at: dt.datetime
    first_digest_id: int  # its archive page holds the digests with ids in [first, last]
    last_digest_id: int
    queued_at: dt.datetime

    @property
    def digest_ids(self) -> range:
        return range(self.first_digest_id, self.last_digest_id + 1)


class Weeks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, week: dt.date) -> Week | None:
        rows = self.db.execute(
            "SELECT week, due_at, first_digest_id, last_digest_id, queued_at FROM weeks WHERE week = ?", (week,)
        )
        return Week(rows[0][0], rows[0][1], int(rows[0][2]), int(rows[0][3]), rows[0][4]) if rows else None

    def all(self) -> list[Week]:
        """Every recorded week that holds a digest, newest first."""
        rows = self.db.execute(
            "SELECT week, due_at, first_digest_id, last_digest_id, queued_at FROM weeks"
            " WHERE first_digest_id <= last_digest_id ORDER BY week DESC"
        )
        return [Week(row[0], row[1], int(row[2]), int(row[3]), row[4]) for row in rows]

    def topics(self, week: dt.date) -> list[Topic] | None:
        rows = self.db.execute("SELECT topics FROM weeks WHERE week = ?", (week,))
        if not rows or rows[0][0] is None:
            return None
        return [Topic(str(label), tuple(int(i) for i in members)) for label, members in json.loads(str(rows[0][0]))]

    def keep_topics(self, week: dt.date, topics: Sequence[Topic]) -> None:
        value = json.dumps([[topic.label, list(topic.members)] for topic in topics])
        self.db.execute("UPDATE weeks SET topics = ? WHERE week = ?", (value, week))

    def record(self, week: dt.date, *, due_at: dt.datetime, lookback: dt.timedelta, now: dt.datetime) -> Week:
        """The week's archive page: the digests after the previous week's, else those of the week before."""
        ((previous,),) = self.db.execute("SELECT MAX(last_digest_id) FROM weeks WHERE week < ?", (week,))
        ((latest,),) = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM digests")
        if previous is not None:
            first = int(previous) + 1
        else:
            ((first_recent,),) = self.db.execute(
                "SELECT MIN(id) FROM digests WHERE published_at > ?", (due_at - lookback,)
            )
            first = int(first_recent) if first_recent is not None else int(latest) + 1
        self.db.execute(
            "INSERT INTO weeks (week, due_at, first_digest_id, last_digest_id, queued_at) VALUES (?, ?, ?, ?, ?)",
            (week, due_at, first, int(latest), now),
        )
        return Week(week, due_at, first, int(latest), now)

    def counts(self, week: dt.date, digests: str | None = None) -> LedgerCounts:
        """The week's mails by status (of one digest set, when given)."""
        extra, params = (" AND digests = ?", (week, digests)) if digests is not None else ("", (week,))
        rows = self.db.execute(
            f"SELECT status, COUNT(*), COUNT(uncertain) FROM weekly_mails WHERE week = ?{extra} GROUP BY status",
            params,
        )
        counts = {str(status): int(n) for status, n, _ in rows}
        return LedgerCounts(**counts, uncertain=sum(int(u) for _, _, u in rows))

    def failures(self, week: dt.date, *, limit: int = 50) -> list[tuple[str, str, int]]:
        """(address, last error, attempts) of the week's failed mails and queued ones that have failed before."""
        rows = self.db.execute(
            "SELECT s.email, w.last_error, w.attempts FROM weekly_mails w JOIN subscribers s ON s.id = w.subscriber_id"
            " WHERE w.week = ? AND (w.status = 'failed' OR w.uncertain IS NOT NULL"
            " OR (w.status = 'queued' AND w.last_error IS NOT NULL)) ORDER BY s.email LIMIT ?",
            (week, limit),
        )
        return [(str(email), str(error or ""), int(attempts)) for email, error, attempts in rows]
