"""Subscribers: who gets the digest, with what filter, and how they left."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator, Sequence

from digest.models import Subscriber, SubscriberStatus
from digest.store.backend import Database
from digest.subscribers import parse_terms, terms_text

COLUMNS = (
    "id, email, status, include_terms, exclude_terms, bounces, created_at, confirmed_at, unsubscribed_at,"
    " interests, frequency"
)


def subscriber_from_row(row: Sequence[object]) -> Subscriber:
    id_, email, status, include, exclude, bounces, created, confirmed, unsubscribed, interests, frequency = row
    return Subscriber(
        id=int(id_),  # type: ignore[call-overload]
        email=str(email),
        status=status,  # type: ignore[arg-type]
        include=parse_terms(str(include)),
        exclude=parse_terms(str(exclude)),
        bounces=int(bounces),  # type: ignore[call-overload]
        interests=parse_terms(str(interests)),
        frequency="weekly" if frequency == "weekly" else "daily",
        created_at=created,  # type: ignore[arg-type]
        confirmed_at=confirmed,  # type: ignore[arg-type]
        unsubscribed_at=unsubscribed,  # type: ignore[arg-type]
    )


def new_feed_key() -> str:
    """The key in a reader's personal feed URL: made with the reader, anew when they revoke the URL."""
    return secrets.token_urlsafe(12)


#: Why a delivery that waited was not sent after all.
DEPARTED = "the subscriber left before it was sent"


class Subscribers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, subscriber_id: int) -> Subscriber | None:
        rows = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,))
        return subscriber_from_row(rows[0]) if rows else None

    def by_email(self, email: str) -> Subscriber | None:
        rows = self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE email = ?", (email,))
        return subscriber_from_row(rows[0]) if rows else None

    def email_of(self, subscriber_id: int) -> str | None:
        rows = self.db.execute("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,))
        return str(rows[0][0]) if rows else None

    def add(
        self,
        email: str,
        *,
        status: SubscriberStatus,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        now: dt.datetime,
    ) -> tuple[Subscriber, bool]:
        """Add or update a subscriber; True when the address is new or returns after leaving.

        An active subscriber stays active (a repeated add only updates the filter).
        """
        existing = self.by_email(email)
        confirmed = now if status == "active" else None
        if existing is None:
            self.db.execute(
                "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at,"
                " feed_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (email, status, terms_text(include), terms_text(exclude), now, confirmed, new_feed_key()),
            )
            created = True
        else:
            keep_active = existing.status == "active"
            self.db.execute(
                "UPDATE subscribers SET status = ?, include_terms = ?, exclude_terms = ?, bounces = ?,"
                " confirmed_at = ?, unsubscribed_at = ? WHERE id = ?",
                (
                    "active" if keep_active else status,
                    terms_text(include),
                    terms_text(exclude),
                    existing.bounces if keep_active else 0,
                    existing.confirmed_at if keep_active else confirmed,
                    None if keep_active or status != "unsubscribed" else existing.unsubscribed_at,
                    existing.id,
                ),
            )
            created = not keep_active
        found = self.by_email(email)
        assert found is not None
        return found, created

    def clear_filter(self, subscriber_id: int, which: str) -> None:
        """Remove a subscriber's hard filter: ``include`` (only papers about...) or ``exclude`` (never...)."""
        column = {"include": "include_terms", "exclude": "exclude_terms"}[which]
        self.db.execute(f"UPDATE subscribers SET {column} = '' WHERE id = ?", (subscriber_id,))

    def set_status(self, subscriber_id: int, status: SubscriberStatus, *, now: dt.datetime) -> None:
        if status == "unsubscribed":
            self.db.execute(
                "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = COALESCE(unsubscribed_at, ?)"
                " WHERE id = ?",
                (now, subscriber_id),
            )
        elif status == "active":
            self.db.execute(
                "UPDATE subscribers SET status = 'active', confirmed_at = ?, unsubscribed_at = NULL, bounces = 0"
                " WHERE id = ?",
                (now, subscriber_id),
            )
        else:
            self.db.execute("UPDATE subscribers SET status = ? WHERE id = ?", (status, subscriber_id))
        if status != "active":
            self._drop_waiting(subscriber_id)

    def _drop_waiting(self, subscriber_id: int) -> None:
        """A reader who leaves is sent nothing more: what waited for them (queued, held for a weekly mail) is
        skipped, so that a reader who comes back later is not sent what was new before they left."""
        self.db.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = ? WHERE subscriber_id = ?"
            " AND status IN ('queued', 'held')",
            (DEPARTED, subscriber_id),
        )

    def record_bounce(self, subscriber_id: int, *, limit: int) -> bool:
        """Count a permanent failure; True when the subscriber is now marked bounced."""
        self.db.execute("UPDATE subscribers SET bounces = bounces + 1 WHERE id = ?", (subscriber_id,))
        rows = self.db.execute(
            "UPDATE subscribers SET status = 'bounced' WHERE id = ? AND bounces >= ? AND status = 'active'"
            " RETURNING id",
            (subscriber_id, limit),
        )
        if rows:
            self._drop_waiting(subscriber_id)
        return bool(rows)

    def reset_bounces(self, subscriber_id: int) -> None:
        """A delivery went through: earlier permanent failures no longer count towards the bounce limit."""
        self.db.execute("UPDATE subscribers SET bounces = 0 WHERE id = ? AND bounces > 0", (subscriber_id,))

    def iter_all(self, *, status: str | None = None, batch: int = 1000) -> Iterator[Subscriber]:
        """Every subscriber in id order, read in batches (never all at once)."""
        last = 0
        while True:
            sql = f"SELECT {COLUMNS} FROM subscribers WHERE id > ?"
            params: list[object] = [last]
            if status is not None:
                sql += " AND status = ?"
                params.append(status)
            rows = self.db.execute(sql + " ORDER BY id LIMIT ?", (*params, batch))
            if not rows:
                return
            for row in rows:
                yield subscriber_from_row(row)
            last = int(rows[-1][0])

    def count_weekly(self) -> int:
        """Active subscribers who read weekly."""
        rows = self.db.execute("SELECT COUNT(*) FROM subscribers WHERE status = 'active' AND frequency = 'weekly'")
        return int(rows[0][0])

    def counts(self) -> dict[str, int]:
        return {
            str(status): int(n)
            for status, n in self.db.execute("SELECT status, COUNT(*) FROM subscribers GROUP BY status")
        }
