"""Weekly mails: one row per (week, subscriber), queued -> sending -> sent | failed | skipped.

When a week falls due, :meth:`WeeklyMails.queue_week` records the week (the
digests published up to then: its archive page) and queues one mail for each
active weekly reader who has none for that week. Each mail takes the reader's
held daily deliveries (see :mod:`digest.store.ledger`): every digest published
since their last weekly mail, or, for their first one, in the week before;
which digests a mail holds is fixed when it is queued, so a resumed or retried
send builds the same mail. When the mail is sent (or fails, or is skipped), its
daily deliveries are marked the same way in the same transaction: a reader who
switches to daily afterwards is never sent those digests again.

Claims work as for daily deliveries: in small batches, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, taken over when their worker died or timed out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from digest.store.backend import Database
from digest.store.ledger import _S_COLUMNS, DEPARTED, Claim, LedgerCounts, _owner_is_dead
from digest.store.subscribers import subscriber_from_row
from digest.store.weeks import Weeks

NOTHING_NEW = "nothing new since the last weekly mail"


@dataclass(frozen=True, slots=True)
class MailGroup:
    """Open weekly mails that hold the same digests, so that one rendering serves them all."""

    week: dt.date
    digests: tuple[int, ...]

    @property
    def key(self) -> str:
        return ",".join(str(digest_id) for digest_id in self.digests)


class WeeklyMails:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.weeks = Weeks(db)

    # -- queueing ----------------------------------------------------------------------------------

    def queue_week(self, week: dt.date, *, due_at: dt.datetime, lookback: dt.timedelta, now: dt.datetime) -> int:
        """Record the week (once) and queue a mail for each active weekly reader without one; how many were added.

        Safe to call again and again (every run of the day does): a reader has one mail per week.
        """
        with self.db.transaction(exclusive=True):
            recorded = self.weeks.get(week) or self.weeks.record(week, due_at=due_at, lookback=lookback, now=now)
            cut = recorded.last_digest_id
            # A reader's first weekly mail: what was published in the week before, unless sent to them already.
            self.db.execute(
                "INSERT INTO deliveries (digest_id, subscriber_id, status)"
                " SELECT d.id, s.id, 'held' FROM digests d CROSS JOIN subscribers s"
                " WHERE s.status = 'active' AND s.frequency = 'weekly' AND d.id <= ? AND d.published_at > ?"
                " AND NOT EXISTS (SELECT 1 FROM weekly_mails w WHERE w.subscriber_id = s.id)"
                " ON CONFLICT (digest_id, subscriber_id) DO NOTHING",
                (cut, due_at - lookback),
            )
            self.db.execute(
                "INSERT INTO weekly_mails (week, subscriber_id, status)"
                " SELECT ?, id, 'queued' FROM subscribers WHERE status = 'active' AND frequency = 'weekly'"
                " ON CONFLICT (subscriber_id, week) DO NOTHING",
                (week,),
            )
            fresh = "SELECT id FROM weekly_mails WHERE week = ? AND digests = '' AND status = 'queued'"
            self.db.execute(
                "UPDATE deliveries SET weekly_mail_id = (SELECT w.id FROM weekly_mails w"
                " WHERE w.subscriber_id = deliveries.subscriber_id AND w.week = ?)"
                " WHERE status = 'held' AND weekly_mail_id IS NULL AND digest_id <= ? AND subscriber_id IN"
                " (SELECT subscriber_id FROM weekly_mails WHERE week = ? AND digests = '' AND status = 'queued')",
                (week, cut, week),
            )
            held: dict[int, list[int]] = {int(row[0]): [] for row in self.db.execute(fresh, (week,))}
            rows = self.db.execute(
                f"SELECT weekly_mail_id, digest_id FROM deliveries WHERE weekly_mail_id IN ({fresh})"
                " ORDER BY weekly_mail_id, digest_id",
                (week,),
            )
            for mail_id, digest_id in rows:
                held[int(mail_id)].append(int(digest_id))
            self.db.execute_many(
                "UPDATE weekly_mails SET digests = ? WHERE id = ?",
                [(",".join(map(str, ids)), mail_id) for mail_id, ids in held.items() if ids],
            )
            empty = [(NOTHING_NEW, mail_id) for mail_id, ids in held.items() if not ids]
            self.db.execute_many("UPDATE weekly_mails SET status = 'skipped', last_error = ? WHERE id = ?", empty)
            return len(held) - len(empty)

    # -- sending -----------------------------------------------------------------------------------

    def open_groups(self) -> list[MailGroup]:
        """Weeks and digest sets with mails left to send, oldest week first."""
        rows = self.db.execute(
            "SELECT DISTINCT week, digests FROM weekly_mails WHERE status IN ('queued', 'sending')"
            " ORDER BY week, digests"
        )
        return [MailGroup(row[0], tuple(int(part) for part in str(row[1]).split(","))) for row in rows]

    def _where(self, group: MailGroup) -> tuple[str, tuple[object, ...]]:
        return "week = ? AND digests = ?", (group.week, group.key)

    def skip_departed(self, group: MailGroup) -> int:
        """Skip queued mails of readers who left since they were queued (and their held deliveries with them)."""
        where, params = self._where(group)
        rows = self.db.execute(
            f"SELECT subscriber_id FROM weekly_mails WHERE {where} AND status = 'queued'"
            " AND subscriber_id IN (SELECT id FROM subscribers WHERE status <> 'active')",
            params,
        )
        departed = [int(row[0]) for row in rows]
        self.finish(group.week, departed, "skipped", error=DEPARTED)
        return len(departed)

    def release_dead_claims(self, group: MailGroup) -> None:
        where, params = self._where(group)
        owners = self.db.execute(
            f"SELECT DISTINCT claimed_by FROM weekly_mails WHERE {where} AND status = 'sending'", params
        )
        for (owner,) in owners:
            if _owner_is_dead(owner):
                self.db.execute(
                    "UPDATE weekly_mails SET status = 'queued', claimed_by = NULL, claimed_at = NULL"
                    f" WHERE {where} AND status = 'sending' AND claimed_by = ?",
                    (*params, owner),
                )

    def claim(
        self, group: MailGroup, *, worker: str, limit: int, now: dt.datetime, stale_after: dt.timedelta
    ) -> list[Claim]:
        where, params = self._where(group)
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        with self.db.transaction(exclusive=self.db.dialect == "sqlite"):
            picked = self.db.execute(
                f"SELECT id FROM weekly_mails WHERE {where}"
                " AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))"
                f" OR (status = 'sending' AND claimed_at < ?)) ORDER BY subscriber_id LIMIT ?{lock}",
                (*params, now, now - stale_after, limit),
            )
            ids = [int(row[0]) for row in picked]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            self.db.execute(
                f"UPDATE weekly_mails SET status = 'sending', claimed_by = ?, claimed_at = ? WHERE id IN ({marks})",
                (worker, now, *ids),
            )
            rows = self.db.execute(
                f"SELECT {_S_COLUMNS}, w.attempts FROM weekly_mails w JOIN subscribers s ON s.id = w.subscriber_id"
                f" WHERE w.id IN ({marks}) ORDER BY s.id",
                tuple(ids),
            )
        return [Claim(subscriber_from_row(row[:-1]), int(row[-1])) for row in rows]

    def finish(
        self,
        week: dt.date,
        subscriber_ids: Sequence[int],
        status: str,
        *,
        now: dt.datetime | None = None,
        error: str | None = None,
        uncertain: str | None = None,
    ) -> None:
        """Mark mails sent, failed or skipped, and their held daily deliveries with them."""
        if not subscriber_ids:
            return
        error = error[:500] if error else None
        uncertain = uncertain[:500] if uncertain else None
        sent_at = now if status == "sent" else None
        attempts = 0 if status == "skipped" else 1
        self.db.execute_many(
            "UPDATE weekly_mails SET status = ?, attempts = attempts + ?, sent_at = ?, last_error = ?, uncertain = ?,"
            " claimed_by = NULL WHERE week = ? AND subscriber_id = ?",
            [(status, attempts, sent_at, error, uncertain, week, sid) for sid in subscriber_ids],
        )
        self.db.execute_many(
            "UPDATE deliveries SET status = ?, sent_at = ?, last_error = ?, uncertain = ? WHERE status = 'held'"
            " AND weekly_mail_id = (SELECT id FROM weekly_mails WHERE week = ? AND subscriber_id = ?)",
            [(status, sent_at, error, uncertain, week, sid) for sid in subscriber_ids],
        )

    def requeue(
        self,
        week: dt.date,
        subscriber_id: int,
        *,
        error: str | None = None,
        attempts: int = 0,
        not_before: dt.datetime | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE weekly_mails SET status = 'queued', attempts = attempts + ?, last_error = COALESCE(?, last_error),"
            " next_attempt_at = ?, claimed_by = NULL, claimed_at = NULL"
            " WHERE week = ? AND subscriber_id = ? AND status = 'sending'",
            (attempts, error[:500] if error else None, not_before, week, subscriber_id),
        )

    def claimed_by_others(self, group: MailGroup, worker: str) -> int:
        where, params = self._where(group)
        rows = self.db.execute(
            f"SELECT COUNT(*) FROM weekly_mails WHERE {where} AND status = 'sending' AND claimed_by <> ?",
            (*params, worker),
        )
        return int(rows[0][0])

    def counts(self, week: dt.date, digests: str | None = None) -> LedgerCounts:
        """The week's mails by status (of one digest set, when given)."""
        extra, params = (" AND digests = ?", (week, digests)) if digests is not None else ("", (week,))
        rows = self.db.execute(
            f"SELECT status, COUNT(*), COUNT(uncertain) FROM weekly_mails WHERE week = ?{extra} GROUP BY status",
            params,
        )
        counts = {str(status): int(n) for status, n, _ in rows}
        return LedgerCounts(**counts, uncertain=sum(int(u) for _, _, u in rows))

    def last_sent(self, subscriber_id: int) -> dt.date | None:
        rows = self.db.execute(
            "SELECT MAX(week) FROM weekly_mails WHERE subscriber_id = ? AND status = 'sent'", (subscriber_id,)
        )
        value = rows[0][0] if rows else None
        return dt.date.fromisoformat(value) if isinstance(value, str) else value  # (SQLite: MAX() has no type)

    def held_digests(self, subscriber_id: int) -> list[int]:
        """The digests waiting for the subscriber's next weekly mail (not yet taken by a queued one)."""
        rows = self.db.execute(
            "SELECT digest_id FROM deliveries WHERE subscriber_id = ? AND status = 'held' AND weekly_mail_id IS NULL"
            " ORDER BY digest_id",
            (subscriber_id,),
        )
        return [int(row[0]) for row in rows]

    def has_mail(self, subscriber_id: int) -> bool:
        rows = self.db.execute("SELECT 1 FROM weekly_mails WHERE subscriber_id = ? LIMIT 1", (subscriber_id,))
        return bool(rows)

    def queued_digests(self, subscriber_id: int) -> list[int]:
        """The digests of the subscriber's weekly mail that is queued and not sent yet (empty: none)."""
        rows = self.db.execute(
            "SELECT digests FROM weekly_mails WHERE subscriber_id = ? AND status IN ('queued', 'sending')"
            " AND digests <> '' ORDER BY week LIMIT 1",
            (subscriber_id,),
        )
        return [int(part) for part in str(rows[0][0]).split(",")] if rows else []

    def unsent_since(self, subscriber_id: int, since: dt.datetime) -> list[int]:
        """Digests published after ``since`` that the subscriber has no delivery of (a first weekly mail's)."""
        rows = self.db.execute(
            "SELECT id FROM digests d WHERE d.published_at > ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries l WHERE l.digest_id = d.id AND l.subscriber_id = ?) ORDER BY id",
            (since, subscriber_id),
        )
        return [int(row[0]) for row in rows]

    def readers_waiting(self, week: dt.date) -> int:
        """Active weekly readers with no mail for ``week`` yet."""
        rows = self.db.execute(
            "SELECT COUNT(*) FROM subscribers s WHERE s.status = 'active' AND s.frequency = 'weekly'"
            " AND NOT EXISTS (SELECT 1 FROM weekly_mails w WHERE w.subscriber_id = s.id AND w.week = ?)",
            (week,),
        )
        return int(rows[0][0])
