"""The send ledger: one row per (digest, subscriber), queued -> sending -> sent | failed | skipped.

A weekly reader's row is *held* instead of queued: no daily mail goes to them;
their weekly mail (see :mod:`digest.store.weekly`) takes the row, and marks it
as it marks itself (sent, failed or skipped).

A ``sent`` row whose ``uncertain`` column holds a reason was sent without an
answer from the server after its final ".": it may or may not have arrived,
and is not sent again.

Workers claim queued rows in small batches (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has one writer at a time), and ``sent`` is committed as soon
as the server has accepted the message. A claim whose worker died is taken
over: at once when that worker was a process of this host that no longer
exists, otherwise after the claim timeout.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from digest.models import Subscriber
from digest.store.backend import Database
from digest.store.subscribers import COLUMNS as SUBSCRIBER_COLUMNS
from digest.store.subscribers import DEPARTED, subscriber_from_row

_S_COLUMNS = ", ".join(f"s.{column.strip()}" for column in SUBSCRIBER_COLUMNS.split(","))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claimable(
    db: Database,
    table: str,
    key: str,
    where: str,
    params: tuple[object, ...],
    *,
    now: dt.datetime,
    stale: dt.datetime,
    limit: int,
) -> list[int]:
    """The ``key`` of up to ``limit`` rows of ``table`` (deliveries or weekly mails) matching ``where`` that can be
    claimed: queued ones due by ``now``, and claims made before ``stale``; by subscriber, locked on PostgreSQL.
    On SQLite, the two kinds are two walks of the status index, merged (one condition for both makes it walk
    every row sent so far, a claim late in a large send reading them all)."""
    if db.dialect == "postgresql":
        rows = db.execute(
            f"SELECT {key} FROM {table} WHERE {where}"
            " AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))"
            " OR (status = 'sending' AND claimed_at < ?))"
            " ORDER BY subscriber_id LIMIT ? FOR UPDATE SKIP LOCKED",
            (*params, now, stale, limit),
        )
    else:
        rows = db.execute(
            f"SELECT {key}, subscriber_id FROM {table} WHERE {where} AND status = 'queued'"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            f" UNION ALL SELECT {key}, subscriber_id FROM {table} WHERE {where} AND status = 'sending'"
            " AND claimed_at < ? ORDER BY subscriber_id LIMIT ?",
            (*params, now, *params, stale, limit),
        )
    return [int(row[0]) for row in rows]


def _owner_is_dead(claimed_by: str | None) -> bool:
    """True when the claim was made by a process of this host that no longer runs."""
    if not claimed_by or ":" not in claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class Claim:
    subscriber: Subscriber
    attempts: int


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    held: int = 0  # waiting for weekly readers' weekly mails
    uncertain: int = 0  # of the sent: no answer came after the message

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed + self.skipped

    @property
    def open(self) -> int:
        return self.queued + self.sending


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(self, digest_id: int) -> int:
        """Queue the digest for every active subscriber who has no row yet; return how many were added.

        A weekly reader's row is held for their weekly mail.
        """
        with self.db.transaction(exclusive=True):
            before = self._queued_total(digest_id)
            self.db.execute(
                "INSERT INTO deliveries (digest_id, subscriber_id, status)"
                " SELECT ?, id, CASE WHEN frequency = 'weekly' THEN 'held' ELSE 'queued' END"
                " FROM subscribers WHERE status = 'active'"
                " ON CONFLICT (digest_id, subscriber_id) DO NOTHING",
                (digest_id,),
            )
            return self._queued_total(digest_id) - before  # counted, not returned: a list may be millions long

    def hold_for_weekly(self, digest_id: int) -> None:
        """Hold the digest for every active weekly reader who has no row for it yet (before its daily send)."""
        with self.db.transaction(exclusive=True):
            self.db.execute(
                "INSERT INTO deliveries (digest_id, subscriber_id, status)"
                " SELECT ?, id, 'held' FROM subscribers WHERE status = 'active' AND frequency = 'weekly'"
                " ON CONFLICT (digest_id, subscriber_id) DO NOTHING",
                (digest_id,),
            )

    def _queued_total(self, digest_id: int) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM deliveries WHERE digest_id = ?", (digest_id,))[0][0])

    def newcomers(self) -> int:
        """Active daily subscribers who have never had a digest queued for them (weekly ones wait for their week)."""
        rows = self.db.execute(
            "SELECT COUNT(*) FROM subscribers s WHERE s.status = 'active' AND s.frequency = 'daily'"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = s.id)"
        )
        return int(rows[0][0])

    def enqueue_newcomers(self, digest_id: int) -> int:
        """Queue ``digest_id`` (the latest) for active daily subscribers who have never had any digest queued."""
        with self.db.transaction(exclusive=True):
            before = self._queued_total(digest_id)
            self.db.execute(
                "INSERT INTO deliveries (digest_id, subscriber_id, status)"
                " SELECT ?, s.id, 'queued' FROM subscribers s WHERE s.status = 'active' AND s.frequency = 'daily'"
                " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = s.id)"
                " ON CONFLICT (digest_id, subscriber_id) DO NOTHING",
                (digest_id,),
            )
            return self._queued_total(digest_id) - before

    def skip_departed(self, digest_id: int) -> int:
        """Skip queued deliveries of subscribers who left (unsubscribed, bounced) since they were queued."""
        rows = self.db.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = ? WHERE digest_id = ? AND status = 'queued'"
            " AND subscriber_id IN (SELECT id FROM subscribers WHERE status <> 'active') RETURNING subscriber_id",
            (DEPARTED, digest_id),
        )
        return len(rows)

    def release_dead_claims(self, digest_id: int) -> int:
        """Put back claims of this host's dead processes at once."""
        owners = self.db.execute(
            "SELECT DISTINCT claimed_by FROM deliveries WHERE digest_id = ? AND status = 'sending'", (digest_id,)
        )
        dead = [str(owner) for (owner,) in owners if _owner_is_dead(owner)]
        for owner in dead:
            self.db.execute(
                "UPDATE deliveries SET status = 'queued', claimed_by = NULL, claimed_at = NULL"
                " WHERE digest_id = ? AND status = 'sending' AND claimed_by = ?",
                (digest_id, owner),
            )
        return len(dead)

    def claim(
        self, digest_id: int, *, worker: str, limit: int, now: dt.datetime, stale_after: dt.timedelta
    ) -> list[Claim]:
        """Claim up to ``limit`` deliveries: queued ones, and claims older than ``stale_after``."""
        with self.db.transaction(exclusive=self.db.dialect == "sqlite"):
            ids = claimable(
                self.db,
                "deliveries",
                "subscriber_id",
                "digest_id = ?",
                (digest_id,),
                now=now,
                stale=now - stale_after,
                limit=limit,
            )
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            self.db.execute(
                f"UPDATE deliveries SET status = 'sending', claimed_by = ?, claimed_at = ?"
                f" WHERE digest_id = ? AND subscriber_id IN ({marks})",
                (worker, now, digest_id, *ids),
            )
            rows = self.db.execute(
                f"SELECT {_S_COLUMNS}, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
                f" WHERE d.digest_id = ? AND d.subscriber_id IN ({marks}) ORDER BY s.id",
                (digest_id, *ids),
            )
        return [Claim(subscriber_from_row(row[:-1]), int(row[-1])) for row in rows]

    def mark_sent(self, digest_id: int, subscriber_id: int, *, now: dt.datetime, uncertain: str | None = None) -> None:
        """Record a delivery as sent; ``uncertain`` says why it may not have arrived after all."""
        self.db.execute(
            "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = ?, uncertain = ?"
            " WHERE digest_id = ? AND subscriber_id = ?",
            (
                now,
                uncertain[:500] if uncertain else None,
                uncertain[:500] if uncertain else None,
                digest_id,
                subscriber_id,
            ),
        )

    def mark_sent_many(self, digest_id: int, subscriber_ids: Sequence[int], *, now: dt.datetime) -> None:
        """Record several deliveries as sent (and certain) in one statement."""
        self.db.execute_many(
            "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL"
            " WHERE digest_id = ? AND subscriber_id = ?",
            [(now, digest_id, subscriber_id) for subscriber_id in subscriber_ids],
        )

    def claimed_by_others(self, digest_id: int, worker: str) -> int:
        """Deliveries another worker has claimed and not finished."""
        rows = self.db.execute(
            "SELECT COUNT(*) FROM deliveries WHERE digest_id = ? AND status = 'sending' AND claimed_by <> ?",
            (digest_id, worker),
        )
        return int(rows[0][0])

    def mark_skipped(self, digest_id: int, subscriber_ids: Sequence[int], *, reason: str) -> None:
        self.db.execute_many(
            "UPDATE deliveries SET status = 'skipped', last_error = ?, claimed_by = NULL"
            " WHERE digest_id = ? AND subscriber_id = ?",
            [(reason, digest_id, subscriber_id) for subscriber_id in subscriber_ids],
        )

    def mark_failed(self, digest_id: int, subscriber_id: int, *, error: str) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?, claimed_by = NULL"
            " WHERE digest_id = ? AND subscriber_id = ?",
            (error[:500], digest_id, subscriber_id),
        )

    def requeue(
        self,
        digest_id: int,
        subscriber_id: int,
        *,
        error: str | None = None,
        attempts: int = 0,
        not_before: dt.datetime | None = None,
    ) -> None:
        """Put a delivery back in the queue: after temporary failures (not before a time), or unstarted at a stop."""
        self.db.execute(
            "UPDATE deliveries SET status = 'queued', attempts = attempts + ?, last_error = COALESCE(?, last_error),"
            " next_attempt_at = ?, claimed_by = NULL, claimed_at = NULL"
            " WHERE digest_id = ? AND subscriber_id = ? AND status = 'sending'",
            (attempts, error[:500] if error else None, not_before, digest_id, subscriber_id),
        )

    def counts(self, digest_id: int) -> LedgerCounts:
        rows = self.db.execute(
            "SELECT status, COUNT(*), COUNT(uncertain) FROM deliveries WHERE digest_id = ? GROUP BY status",
            (digest_id,),
        )
        counts = {str(status): int(n) for status, n, _ in rows}
        return LedgerCounts(**counts, uncertain=sum(int(u) for _, _, u in rows))

    def failures(self, digest_id: int, *, limit: int = 50) -> list[tuple[str, str, int]]:
        """(address, last error, attempts) of failed deliveries and queued ones that have failed before."""
        rows = self.db.execute(
            "SELECT s.email, d.last_error, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.digest_id = ? AND (d.status = 'failed' OR d.uncertain IS NOT NULL"
            " OR (d.status = 'queued' AND d.last_error IS NOT NULL))"
            " ORDER BY s.email LIMIT ?",
            (digest_id, limit),
        )
        return [(str(email), str(error or ""), int(attempts)) for email, error, attempts in rows]
