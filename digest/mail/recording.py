"""What becomes of a delivery whose message was not simply sent: the ledger, the subscriber's bounces, the
report and the breaker, as :mod:`digest.mail.deliver` describes them (a plain "sent" is recorded in bulk)."""

from __future__ import annotations

import datetime as dt
import logging

from digest.config import Config
from digest.mail.queues import DeliveryQueue
from digest.mail.report import Breaker, Outcome, SendReport
from digest.store import Store
from digest.store.ledger import Claim

log = logging.getLogger("digest.mail.deliver")

#: How long a delivery that kept failing temporarily waits before a later run tries it again.
RETRY_LATER = dt.timedelta(minutes=10)


def record_outcome(
    store: Store,
    config: Config,
    queue: DeliveryQueue,
    claim: Claim,
    outcome: tuple[Outcome, str | None],
    report: SendReport,
    breaker: Breaker,
    now: dt.datetime,
) -> None:
    status, error = outcome
    subscriber = claim.subscriber
    if status == "sent":
        with store.transaction():
            queue.sent([subscriber.id], now=now)
            if subscriber.bounces:
                store.subscribers.reset_bounces(subscriber.id)
        report.sent += 1
        breaker.success()
    elif status == "uncertain":
        queue.sent([subscriber.id], now=now, uncertain=error or "no answer after the message")
        report.uncertain += 1
        report.errors.append(f"{subscriber.email}: {error}; it may have been delivered, so it is not sent again")
        breaker.failure(error or "no answer after the message", permanent=False)
    elif status == "failed":
        with store.transaction():
            queue.failed(subscriber.id, error=error or "refused")
            bounced = store.subscribers.record_bounce(subscriber.id, limit=config.delivery.bounce_limit)
        report.failed += 1
        report.bounced += bounced
        report.errors.append(f"{subscriber.email}: {error}")
        log.warning("%s: refused permanently: %s%s", subscriber.email, error, " (now marked bounced)" * bounced)
        breaker.success()
    elif status == "deferred":
        queue.requeue(subscriber.id, error=error, attempts=1, not_before=now + RETRY_LATER)
        report.deferred += 1
        report.errors.append(f"{subscriber.email}: {error}")
        log.warning("%s: temporary failure, a later run retries: %s", subscriber.email, error)
        breaker.success()
    elif status in ("server", "halt"):
        queue.requeue(subscriber.id, error=error, attempts=1)
        report.server_error = error or "the server failed"
        breaker.failure(error or "the server failed", permanent=status == "halt")
        log.info("%s: not delivered, not the recipient's fault; left queued: %s", subscriber.email, error)
    else:  # not started before a stop
        queue.requeue(subscriber.id)
