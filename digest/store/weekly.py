"""Weekly mails: one row per (week, subscriber), queued -> sending -> sent | failed | skipped.

When a week falls due, :meth:`WeeklyMails.queue_week` records the week (the
digests published up to then: its archive page) and queues one mail for each
active weekly reader who has none for that week. Each mail takes the reader's
held daily deliveries (see :mod:`digest.store.ledger`): every digest published
since their last weekly mail, or, for their first one, in the week before;
which digests a mail holds is fixed when it is queued (its ``digests``), so a
resumed or retried send builds the same mail, and a later week's mail never
takes them. When the mail is sent (or fails, or is skipped), its daily
deliveries are marked the same way in the same transaction: a reader who
switches to daily afterwards is never sent those digests again.

Claims work as for daily deliveries: in small batches, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, taken over when their worker died or timed out.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from digest.store.backend import Database
from digest.store.ledger import _S_COLUMNS, Claim, _owner_is_dead, claimable
from digest.store.subscribers import DEPARTED, subscriber_from_row
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
                "WITH first_timers AS MATERIALIZED (SELECT id FROM subscribers s"
                " WHERE s.status = 'active' AND s.frequency = 'weekly'"
                " AND NOT EXISTS (SELECT 1 FROM weekly_mails w WHERE w.subscriber_id = s.id))"
                " INSERT INTO deliveries (digest_id, subscriber_id, status)"
                " SELECT d.id, f.id, 'held' FROM first_timers f CROSS JOIN digests d WHERE d.published_at > ?"
                " ON CONFLICT (digest_id, subscriber_id) DO NOTHING",  # (those past the cut wait for next week)
                (due_at - lookback,),
            )
            self.db.execute(
                "INSERT INTO weekly_mails (week, subscriber_id, status)"
                " SELECT ?, id, 'queued' FROM subscribers WHERE status = 'active' AND frequency = 'weekly'"
                " ON CONFLICT (subscriber_id, week) DO NOTHING",
                (week,),
            )
            fresh = "SELECT subscriber_id FROM weekly_mails WHERE week = ? AND digests = '' AND status = 'queued'"
            held: dict[int, set[int]] = {int(row[0]): set() for row in self.db.execute(fresh, (week,))}
            rows = self.db.execute(
                f"SELECT subscriber_id, digest_id FROM deliveries WHERE status = 'held' AND digest_id <= ?"
                f" AND subscriber_id IN ({fresh})",
                (cut, week),
            )
            for subscriber_id, digest_id in rows:
                held[int(subscriber_id)].add(int(digest_id))
            # (A held delivery an earlier mail took, not sent yet, stays that mail's.)
            for subscriber_id, taken in self._open_sets(before=week):
                if subscriber_id in held:
                    held[subscriber_id] -= taken
            self._write_sets(week, held)
            return sum(1 for ids in held.values() if ids)

    def _open_sets(
        self, *, before: dt.date | None = None, subscriber_id: int | None = None
    ) -> list[tuple[int, set[int]]]:
        """The digests of weekly mails queued and not sent yet: (subscriber, digest ids)."""
        where: str = ""
        params: tuple[object, ...] = ()
        if before is not None:
            where, params = " AND week < ?", (before,)
        if subscriber_id is not None:
            where, params = " AND subscriber_id = ?", (subscriber_id,)
        rows = self.db.execute(
            f"SELECT subscriber_id, digests FROM weekly_mails WHERE status IN ('queued', 'sending') AND digests <> ''"
            f"{where}",
            params,
        )
        return [(int(sid), {int(part) for part in str(digests).split(",")}) for sid, digests in rows]

    def _write_sets(self, week: dt.date, held: dict[int, set[int]]) -> None:
        """Fix each fresh mail's digests; one statement for the set most share, one per other reader."""
        keys = {subscriber_id: ",".join(map(str, sorted(ids))) for subscriber_id, ids in held.items() if ids}
        common = Counter(keys.values()).most_common(1)[0][0] if keys else None
        fresh = "week = ? AND digests = '' AND status = 'queued'"
        self.db.execute_many(
            f"UPDATE weekly_mails SET digests = ? WHERE {fresh} AND subscriber_id = ?",
            [(key, week, subscriber_id) for subscriber_id, key in keys.items() if key != common],
        )
        self.db.execute_many(
            f"UPDATE weekly_mails SET status = 'skipped', last_error = ? WHERE {fresh} AND subscriber_id = ?",
            [(NOTHING_NEW, week, subscriber_id) for subscriber_id, ids in held.items() if not ids],
        )
        if common is not None:  # every other fresh mail holds the common set
            self.db.execute(f"UPDATE weekly_mails SET digests = ? WHERE {fresh}", (common, week))

    def taken_digests(self, subscriber_id: int) -> set[int]:
        """The digests of the subscriber's weekly mails queued and not sent yet."""
        return {digest for _, ids in self._open_sets(subscriber_id=subscriber_id) for digest in ids}

    # -- sending -----------------------------------------------------------------------------------

    def open_groups(self) -> list[MailGroup]:
        """Weeks and digest sets with mails left to send, oldest week first."""
        rows = self.db.execute(
            "SELECT DISTINCT week, digests FROM weekly_mails WHERE status IN ('queued', 'sending') AND digests <> ''"
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
        self.finish(group, departed, "skipped", error=DEPARTED)
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
        with self.db.transaction(exclusive=self.db.dialect == "sqlite"):
            stale = now - stale_after
            ids = claimable(self.db, "weekly_mails", "id", where, params, now=now, stale=stale, limit=limit)
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
        group: MailGroup,
        subscriber_ids: Sequence[int],
        status: str,
        *,
        now: dt.datetime | None = None,
        error: str | None = None,
        uncertain: str | None = None,
    ) -> None:
        """Mark mails sent, failed or skipped, and the daily deliveries they held with them."""
        if not subscriber_ids:
            return
        error = error[:500] if error else None
        uncertain = uncertain[:500] if uncertain else None
        sent_at = now if status == "sent" else None
        attempts = 0 if status == "skipped" else 1
        self.db.execute_many(
            "UPDATE weekly_mails SET status = ?, attempts = attempts + ?, sent_at = ?, last_error = ?, uncertain = ?,"
            " claimed_by = NULL WHERE week = ? AND subscriber_id = ?",
            [(status, attempts, sent_at, error, uncertain, group.week, sid) for sid in subscriber_ids],
        )
        marks = ", ".join("?" * len(group.digests))
        self.db.execute_many(
            "UPDATE deliveries SET status = ?, sent_at = ?, last_error = ?, uncertain = ?"
            f" WHERE subscriber_id = ? AND status = 'held' AND digest_id IN ({marks})",
            [(status, sent_at, error, uncertain, sid, *group.digests) for sid in subscriber_ids],
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

    def held_digests(self, subscriber_id: int) -> list[int]:
        """The digests waiting for the subscriber's next weekly mail (not taken by one queued already)."""
        rows = self.db.execute(
            "SELECT digest_id FROM deliveries WHERE subscriber_id = ? AND status = 'held' ORDER BY digest_id",
            (subscriber_id,),
        )
        taken = self.taken_digests(subscriber_id)
        return [int(row[0]) for row in rows if int(row[0]) not in taken]

    def has_mail(self, subscriber_id: int) -> bool:
        rows = self.db.execute("SELECT 1 FROM weekly_mails WHERE subscriber_id = ? LIMIT 1", (subscriber_id,))
        return bool(rows)

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

    def change_frequency(self, subscriber_id: int, frequency: str) -> None:
        """Move a reader's waiting deliveries with them: to weekly, queued ones are held for the weekly mail;
        to daily, held ones no queued weekly mail holds are queued, so that none is lost."""
        if frequency == "weekly":
            self.db.execute(
                "UPDATE deliveries SET status = 'held' WHERE subscriber_id = ? AND status = 'queued'", (subscriber_id,)
            )
        else:
            taken = sorted(self.taken_digests(subscriber_id))  # (a queued weekly mail keeps its own)
            marks = ", ".join("?" * len(taken))
            self.db.execute(
                "UPDATE deliveries SET status = 'queued', next_attempt_at = NULL WHERE subscriber_id = ?"
                " AND status = 'held'" + (f" AND digest_id NOT IN ({marks})" if taken else ""),
                (subscriber_id, *taken),
            )
