"""What a send works through: a daily digest's deliveries, or a group of weekly mails, behind one interface.

:func:`digest.mail.deliver.send_queue` claims, builds, sends and records through a
:class:`DeliveryQueue`; it does not know which kind of mail it sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from digest.mail.message import message_id_for
from digest.mail.verp import delivery_name
from digest.store import Store
from digest.store.ledger import Claim
from digest.store.weekly import MailGroup
from digest.weekly import week_slug


class DeliveryQueue(Protocol):
    name: str  # as people see it: the digest's date, or "week-<date>"
    delivery: str  # as a return token names it (see digest.mail.verp)

    def open_count(self) -> int: ...

    def release_dead_claims(self) -> None:
        """Before a send: put back claims of dead workers, and skip readers who left since being queued."""
        ...

    def claim(self, *, worker: str, limit: int, now: dt.datetime, stale_after: dt.timedelta) -> list[Claim]: ...

    def sent(self, subscriber_ids: Sequence[int], *, now: dt.datetime, uncertain: str | None = None) -> None: ...

    def failed(self, subscriber_id: int, *, error: str) -> None: ...

    def skipped(self, subscriber_ids: Sequence[int], *, reason: str) -> None: ...

    def requeue(
        self,
        subscriber_id: int,
        *,
        error: str | None = None,
        attempts: int = 0,
        not_before: dt.datetime | None = None,
    ) -> None: ...

    def claimed_by_others(self, worker: str) -> int: ...

    def message_id(self, subscriber_id: int) -> str: ...

    def key(self, subscriber_id: int) -> str:
        """The transport's name for the message (the outbox file)."""
        ...


class DigestQueue:
    """A daily digest's deliveries (the ledger)."""

    def __init__(self, store: Store, digest_id: int, *, name: str, list_id: str) -> None:
        self.ledger = store.ledger
        self.digest_id = digest_id
        self.name = name
        self.delivery = delivery_name(digest_id=digest_id)
        self.list_id = list_id

    def open_count(self) -> int:
        return self.ledger.counts(self.digest_id).open

    def release_dead_claims(self) -> None:
        self.ledger.release_dead_claims(self.digest_id)
        self.ledger.skip_departed(self.digest_id)

    def claim(self, *, worker: str, limit: int, now: dt.datetime, stale_after: dt.timedelta) -> list[Claim]:
        return self.ledger.claim(self.digest_id, worker=worker, limit=limit, now=now, stale_after=stale_after)

    def sent(self, subscriber_ids: Sequence[int], *, now: dt.datetime, uncertain: str | None = None) -> None:
        if uncertain is None:
            self.ledger.mark_sent_many(self.digest_id, subscriber_ids, now=now)
        else:
            for subscriber_id in subscriber_ids:
                self.ledger.mark_sent(self.digest_id, subscriber_id, now=now, uncertain=uncertain)

    def failed(self, subscriber_id: int, *, error: str) -> None:
        self.ledger.mark_failed(self.digest_id, subscriber_id, error=error)

    def skipped(self, subscriber_ids: Sequence[int], *, reason: str) -> None:
        self.ledger.mark_skipped(self.digest_id, subscriber_ids, reason=reason)

    def requeue(
        self,
        subscriber_id: int,
        *,
        error: str | None = None,
        attempts: int = 0,
        not_before: dt.datetime | None = None,
    ) -> None:
        self.ledger.requeue(self.digest_id, subscriber_id, error=error, attempts=attempts, not_before=not_before)

    def claimed_by_others(self, worker: str) -> int:
        return self.ledger.claimed_by_others(self.digest_id, worker)

    def message_id(self, subscriber_id: int) -> str:
        return message_id_for(self.digest_id, subscriber_id, list_id=self.list_id)

    def key(self, subscriber_id: int) -> str:
        return f"digest-{self.digest_id}-{subscriber_id}"


class WeeklyQueue:
    """The weekly mails of one week that hold the same digests."""

    def __init__(self, store: Store, group: MailGroup, *, list_id: str) -> None:
        self.mails = store.weekly
        self.weeks = store.weeks
        self.group = group
        self.name = week_slug(group.week)
        self.delivery = delivery_name(week=group.week)
        self.list_id = list_id

    def open_count(self) -> int:
        return self.weeks.counts(self.group.week, self.group.key).open

    def release_dead_claims(self) -> None:
        self.mails.release_dead_claims(self.group)
        self.mails.skip_departed(self.group)

    def claim(self, *, worker: str, limit: int, now: dt.datetime, stale_after: dt.timedelta) -> list[Claim]:
        return self.mails.claim(self.group, worker=worker, limit=limit, now=now, stale_after=stale_after)

    def sent(self, subscriber_ids: Sequence[int], *, now: dt.datetime, uncertain: str | None = None) -> None:
        self.mails.finish(self.group, subscriber_ids, "sent", now=now, uncertain=uncertain, error=uncertain)

    def failed(self, subscriber_id: int, *, error: str) -> None:
        self.mails.finish(self.group, [subscriber_id], "failed", error=error)

    def skipped(self, subscriber_ids: Sequence[int], *, reason: str) -> None:
        self.mails.finish(self.group, subscriber_ids, "skipped", error=reason)

    def requeue(
        self,
        subscriber_id: int,
        *,
        error: str | None = None,
        attempts: int = 0,
        not_before: dt.datetime | None = None,
    ) -> None:
        self.mails.requeue(self.group.week, subscriber_id, error=error, attempts=attempts, not_before=not_before)

    def claimed_by_others(self, worker: str) -> int:
        return self.mails.claimed_by_others(self.group, worker)

    def message_id(self, subscriber_id: int) -> str:
        return f"week-{self.group.week.isoformat()}.{subscriber_id}@{self.list_id}"

    def key(self, subscriber_id: int) -> str:
        return f"week-{self.group.week.isoformat()}-{subscriber_id}"
