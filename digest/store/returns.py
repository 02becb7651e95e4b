"""Returned mail: each bounce or complaint read from the bounce mailbox, once, and what it did to its reader.

A returned message is recorded by its own Message-ID (or, without one, a hash of its
first bytes), so that reading the same mailbox twice counts nothing twice. A permanent
failure counts towards the reader's bounce limit once per delivery (two reports about
one message count once), and the count starts afresh when the previous one is older
than the bounce window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from digest.store.backend import Database
from digest.store.subscribers import Subscribers

ReturnKind = Literal["gone", "permanent", "temporary", "complaint", "auto-reply", "unrelated", "unreadable"]
#: Kinds of returned mail that fail a delivery for good.
PERMANENT_KINDS = ("gone", "permanent")
#: What a left_reason starts with when the reader reported a digest as spam.
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class ReturnedCounts:
    gone: int = 0  # the mailbox does not exist
    permanent: int = 0  # other permanent failures
    temporary: int = 0  # delayed, or a temporary failure: recorded only
    complaints: int = 0

    @property
    def bounces(self) -> int:
        return self.gone + self.permanent


@dataclass(frozen=True, slots=True)
class Returned:
    email: str
    kind: str
    detail: str
    received_at: dt.datetime


class ReturnedMail:
    def __init__(self, db: Database, subscribers: Subscribers) -> None:
        self.db = db
        self.subscribers = subscribers

    def seen(self, message_key: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM returned_mail WHERE message_key = ?", (message_key,)))

    def record(
        self,
        message_key: str,
        kind: ReturnKind,
        *,
        effect: str,
        now: dt.datetime,
        subscriber_id: int | None = None,
        digest_id: int | None = None,
        week: dt.date | None = None,
        address: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record one returned message; False when it was recorded before (nothing is done twice)."""
        rows = self.db.execute(
            "INSERT INTO returned_mail (message_key, kind, subscriber_id, digest_id, week, address, detail, effect,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_key) DO NOTHING RETURNING id",
            (message_key, kind, subscriber_id, digest_id, week, address, detail, effect, now),
        )
        return bool(rows)

    def already_counted(self, subscriber_id: int, digest_id: int | None, week: dt.date | None) -> bool:
        """True when a permanent failure of this reader's delivery was counted already (another report of it)."""
        if digest_id is None and week is None:
            return False
        column, value = ("digest_id", digest_id) if digest_id is not None else ("week", week)
        rows = self.db.execute(
            f"SELECT 1 FROM returned_mail WHERE subscriber_id = ? AND {column} = ? AND kind IN ('gone', 'permanent')",
            (subscriber_id, value),
        )
        return bool(rows)

    def count_failure(self, subscriber_id: int, *, limit: int, window: dt.timedelta, now: dt.datetime) -> bool:
        """Count a returned permanent failure; True when the reader is now marked bounced.

        Refusals at RCPT (``bounces``) and returned failures add up towards ``limit``.
        """
        self.db.execute(
            "UPDATE subscribers SET returned_bounces = CASE WHEN last_returned_at IS NULL OR last_returned_at < ?"
            " THEN 1 ELSE returned_bounces + 1 END, last_returned_at = ? WHERE id = ?",
            (now - window, now, subscriber_id),
        )
        rows = self.db.execute(
            "SELECT status, bounces + returned_bounces FROM subscribers WHERE id = ?", (subscriber_id,)
        )
        if not rows or rows[0][0] != "active" or int(rows[0][1]) < limit:
            return False
        return self.leave(subscriber_id, "bounced", reason="bounced: too many permanent failures", now=now)

    def leave(
        self, subscriber_id: int, status: Literal["bounced", "unsubscribed"], *, reason: str, now: dt.datetime
    ) -> bool:
        """End a subscription for a returned message's sake, keeping why; True when it was not ended already."""
        rows = self.db.execute("SELECT status FROM subscribers WHERE id = ?", (subscriber_id,))
        if not rows or rows[0][0] not in ("active", "pending"):
            if rows and status == "unsubscribed":  # a complaint outranks how they left before: it is kept
                self.db.execute("UPDATE subscribers SET left_reason = ? WHERE id = ?", (reason, subscriber_id))
            return False
        self.subscribers.set_status(subscriber_id, status, now=now)
        self.db.execute("UPDATE subscribers SET left_reason = ? WHERE id = ?", (reason, subscriber_id))
        return True

    def complained(self, subscriber_id: int) -> bool:
        """True when the reader left by reporting a digest as spam (and was not added back by hand since)."""
        rows = self.db.execute(
            "SELECT 1 FROM subscribers WHERE id = ? AND status <> 'active' AND left_reason LIKE ?",
            (subscriber_id, f"{COMPLAINT}%"),
        )
        return bool(rows)

    def left_reason(self, subscriber_id: int) -> str | None:
        rows = self.db.execute("SELECT left_reason FROM subscribers WHERE id = ?", (subscriber_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def counts(self, *, digest_id: int | None = None, week: dt.date | None = None) -> ReturnedCounts:
        """What came back for a digest's deliveries, or for a week's weekly mails."""
        column, value = ("digest_id", digest_id) if digest_id is not None else ("week", week)
        rows = self.db.execute(f"SELECT kind, COUNT(*) FROM returned_mail WHERE {column} = ? GROUP BY kind", (value,))
        found = {str(kind): int(n) for kind, n in rows}
        return ReturnedCounts(
            gone=found.get("gone", 0),
            permanent=found.get("permanent", 0),
            temporary=found.get("temporary", 0),
            complaints=found.get("complaint", 0),
        )

    def listed(self, *, digest_id: int | None = None, week: dt.date | None = None, limit: int = 50) -> list[Returned]:
        """The bounces and complaints of a digest or a week, newest first."""
        column, value = ("digest_id", digest_id) if digest_id is not None else ("week", week)
        rows = self.db.execute(
            "SELECT COALESCE(s.email, r.address, ''), r.kind, COALESCE(r.detail, ''), r.received_at"
            f" FROM returned_mail r LEFT JOIN subscribers s ON s.id = r.subscriber_id WHERE r.{column} = ?"
            " AND r.kind IN ('gone', 'permanent', 'temporary', 'complaint') ORDER BY r.received_at DESC, r.id DESC"
            " LIMIT ?",
            (value, limit),
        )
        return [Returned(str(a), str(k), str(d), t) for a, k, d, t in rows]
