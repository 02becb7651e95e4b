"""Returned mail read back: each bounce or complaint matched to its reader and acted on, once.

A message is matched by the signed return token of the address it was sent to
(VERP, see :mod:`digest.mail.verp`) first; a token that does not verify matches
nothing. Without a token, by the Message-ID of the returned original
(``digest-D.S@LIST-ID`` or ``week-DATE.S@LIST-ID``) when that delivery was sent;
then by a failed address that is a subscriber's.

What it does to the reader (see :mod:`digest.mail.bounces` for the kinds):

- ``gone`` (the mailbox does not exist): marked bounced at once;
- ``permanent``: counts towards ``delivery.bounce_limit`` (once per delivery);
- ``temporary``: recorded only;
- ``complaint``: unsubscribed at once and for good, the reason kept;
- ``auto-reply`` and ``unrelated``: nothing.

Every message is recorded by its Message-ID in the same transaction as its
effect: reading the same mailbox again counts nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from digest.config import Config
from digest.mail.bounces import ReturnedMessage, clean, read_returned
from digest.mail.verp import read_delivery, token_in
from digest.store import Store
from digest.store.returns import COMPLAINT
from digest.tokens import TokenError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Match:
    subscriber_id: int
    email: str
    digest_id: int | None = None
    week: dt.date | None = None
    by: str = ""  # "token", "message-id" or "address"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one returned message was, whose it was, and what it did."""

    source: str  # where it was read: a file, a mailbox and its key, or "-"
    message: ReturnedMessage
    match: Match | None
    effect: str  # "bounced", "counted", "counted before", "recorded", "unsubscribed", "already left", "none",
    # "not matched", "forged token", "unreadable", "already read"
    why: str = ""  # for an unmatched message: why nothing matched

    @property
    def problem(self) -> bool:
        return self.effect in ("not matched", "forged token", "unreadable")

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "message_id": self.message.key,
            "kind": self.message.kind,
            "address": self.match.email if self.match else (self.message.failed[0] if self.message.failed else None),
            "digest_id": self.match.digest_id if self.match else None,
            "week": self.match.week.isoformat() if self.match and self.match.week else None,
            "matched_by": self.match.by if self.match else None,
            "detail": self.message.detail,
            "effect": self.effect,
            "why": self.why or None,
        }


@dataclass
class ReturnsReport:
    outcomes: Counter[str] = field(default_factory=Counter)  # effect -> messages
    kinds: Counter[str] = field(default_factory=Counter)  # kind -> messages read for the first time
    read: int = 0

    def add(self, outcome: Outcome) -> None:
        self.read += 1
        self.outcomes[outcome.effect] += 1
        if outcome.effect != "already read":
            self.kinds[outcome.message.kind] += 1

    @property
    def problems(self) -> int:
        return sum(self.outcomes[effect] for effect in ("not matched", "forged token", "unreadable"))

    def summary(self) -> str:
        kinds = self.kinds
        parts = [
            f"{kinds['gone'] + kinds['permanent']} bounces ({_readers(self.outcomes['bounced'])} marked bounced)",
            f"{kinds['temporary']} delays",
            f"{kinds['complaint']} complaints ({_readers(self.outcomes['unsubscribed'])} unsubscribed)",
            f"{kinds['auto-reply']} auto-replies",
            f"{kinds['unrelated']} unrelated",
            f"{self.outcomes['already read']} read before",
        ]
        if self.problems:
            parts.append(f"{self.problems} not matched or unreadable")
        return f"returned mail: {self.read} messages: " + ", ".join(parts)


def _readers(count: int) -> str:
    return f"{count} reader" + ("" if count == 1 else "s")


class ReturnedMailReader:
    """Reads returned messages into the store: matches, acts, records."""

    def __init__(self, store: Store, config: Config, secret: bytes, *, extra_returns: tuple[str, ...] = ()) -> None:
        self.store = store
        self.config = config
        self.secret = secret
        self.extra_returns = extra_returns  # where the mail server says it delivered (stdin: $ORIGINAL_RECIPIENT)
        list_id = re.escape(config.email.list_id.lower())
        self.digest_id = re.compile(rf"digest-([1-9][0-9]{{0,17}})\.([1-9][0-9]{{0,17}})@{list_id}")
        self.week_id = re.compile(rf"week-([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})\.([1-9][0-9]{{0,17}})@{list_id}")

    def read(self, source: str, data: bytes, *, now: dt.datetime) -> Outcome:
        message = read_returned(data)
        if message.kind == "unreadable":
            return self._record(source, message, None, "unreadable", now=now, why=message.detail)
        if not message.needs_reader:
            return self._record(source, message, None, "none", now=now)
        match, why = self.match(message)
        if match is None:
            effect = "forged token" if why == "forged" else "not matched"
            return self._record(source, message, None, effect, now=now, why=why)
        return self._record(source, message, match, "", now=now)

    def match(self, message: ReturnedMessage) -> tuple[Match | None, str]:
        """Whose delivery the message returns, and how that was found; else None and why not."""
        bounce_address = self.config.delivery.bounce_address
        tokens = [
            token
            for address in (*self.extra_returns, *message.return_addresses)
            if bounce_address and (token := token_in(address, bounce_address))
        ]
        if tokens:
            for token in tokens:
                try:
                    digest_id, week, subscriber_id = read_delivery(self.secret, token)
                except TokenError:
                    continue
                email = self.store.subscribers.email_of(subscriber_id)
                if email is not None:
                    return Match(subscriber_id, email, digest_id, week, "token"), ""
            return None, "forged"  # a token that does not verify matches nothing, by any other way either
        for original in message.original_ids:
            found = self._by_message_id(original.lower())
            if found is not None:
                return found, ""
        for address in message.failed:
            subscriber = self.store.subscribers.by_email(address)
            if subscriber is not None:
                return Match(subscriber.id, subscriber.email, by="address"), ""
        failed = ", ".join(message.failed[:3]) or "no address"
        return None, f"no return token, no Message-ID of a sent delivery, and {failed} is no subscriber's"

    def _by_message_id(self, message_id: str) -> Match | None:
        if digest := self.digest_id.fullmatch(message_id):
            digest_id, subscriber_id = int(digest[1]), int(digest[2])
            rows = self.store.db.execute(
                "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
                " WHERE d.digest_id = ? AND d.subscriber_id = ? AND d.status = 'sent'",
                (digest_id, subscriber_id),
            )
            return Match(subscriber_id, str(rows[0][0]), digest_id, None, "message-id") if rows else None
        if week := self.week_id.fullmatch(message_id):
            try:
                day = dt.date.fromisoformat(week[1])
            except ValueError:
                return None
            subscriber_id = int(week[2])
            rows = self.store.db.execute(
                "SELECT s.email FROM weekly_mails w JOIN subscribers s ON s.id = w.subscriber_id"
                " WHERE w.week = ? AND w.subscriber_id = ? AND w.status = 'sent'",
                (day, subscriber_id),
            )
            return Match(subscriber_id, str(rows[0][0]), None, day, "message-id") if rows else None
        return None

    def _record(
        self,
        source: str,
        message: ReturnedMessage,
        match: Match | None,
        effect: str,
        *,
        now: dt.datetime,
        why: str = "",
    ) -> Outcome:
        """Act on the message and record it, in one transaction; "already read" when it was recorded before."""
        returned = self.store.returned
        with self.store.transaction(exclusive=True):
            if returned.seen(message.key):
                return Outcome(source, message, match, "already read")
            if match is not None:
                effect = self._act(message, match, now)
            returned.record(
                message.key,
                message.kind,
                effect=effect,
                now=now,
                subscriber_id=match.subscriber_id if match else None,
                digest_id=match.digest_id if match else None,
                week=match.week if match else None,
                address=clean(match.email if match else ", ".join(message.failed), 320) or None,
                detail=message.detail or why or None,
            )
        return Outcome(source, message, match, effect, why)

    def _act(self, message: ReturnedMessage, match: Match, now: dt.datetime) -> str:
        returned = self.store.returned
        reader = match.subscriber_id
        if message.kind == "gone":
            left = returned.leave(reader, "bounced", reason=f"bounced: {message.detail or 'no such mailbox'}", now=now)
            return "bounced" if left else "already left"
        if message.kind == "permanent":
            if returned.already_counted(reader, match.digest_id, match.week):
                return "counted before"
            delivery = self.config.delivery
            bounced = returned.count_failure(
                reader, limit=delivery.bounce_limit, window=delivery.bounce_window, now=now
            )
            return "bounced" if bounced else "counted"
        if message.kind == "complaint":
            left = returned.leave(reader, "unsubscribed", reason=f"{COMPLAINT}: {message.detail}", now=now)
            return "unsubscribed" if left else "already left"
        return "recorded"  # temporary: a later try may get through
