"""Sending a digest: the ledger, the messages and a transport, chained.

1. Queue the digest for every active subscriber who has no ledger row for it.
2. Claim a small batch of deliveries (several workers may share the work).
3. For each, build the message from its filter variant's template (rendered
   and serialised once per variant), hand it to the transport in a pool of
   ``connections`` threads, and record the result as soon as it is known:
   ``sent`` right after the server accepted it.
4. Repeat until nothing is left to claim, or until asked to stop: then no new
   message starts, and those not started go back to the queue.

A temporary failure is retried a few times with backoff, then left queued for
a later run; a permanent one marks the delivery failed and counts towards the
subscriber's bounce limit. One recipient's failure never stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from digest.config import Config
from digest.message import CompiledMessage, ListHeaders, message_id_for, personalise_message, prepare_message
from digest.models import Digest, Subscriber
from digest.render import Renderer
from digest.store import Store
from digest.store.ledger import Claim, worker_name
from digest.subscribers import filter_papers
from digest.tokens import make_token
from digest.transport import OutboxTransport, PermanentFailure, SMTPTransport, TemporaryFailure, Transport

log = logging.getLogger(__name__)

#: Deliveries claimed at a time, per connection.
CLAIM_PER_CONNECTION = 16
#: How long a delivery that kept failing temporarily waits before a later run tries it again.
RETRY_LATER = dt.timedelta(minutes=10)
NOTHING_MATCHES = "no paper of this digest matches the subscriber's filter"


@dataclass
class SendReport:
    digest_id: int
    queued: int = 0  # ledger rows added by this run
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # temporary failures left for a later run
    skipped: int = 0  # filtered subscribers with nothing to read
    bounced: int = 0  # subscribers marked bounced by this run
    stopped: bool = False
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.failed + self.deferred


def make_transport(config: Config) -> Transport:
    if config.delivery.smtp_url:
        return SMTPTransport(
            config.delivery.smtp_url,
            sender=config.email.sender,
            timeout=config.delivery.timeout.total_seconds(),
            rate=config.delivery.rate,
        )
    return OutboxTransport(config.delivery.outbox)


class Variants:
    """Message templates per interest filter, rendered and serialised once each."""

    def __init__(
        self,
        digest: Digest,
        config: Config,
        renderer: Renderer,
        date: dt.datetime,
        wire_format: Callable[[bytes], bytes],
    ) -> None:
        self.digest = digest
        self.wire_format = wire_format
        self.config = config
        self.renderer = renderer
        self.date = date
        self.headers = ListHeaders(
            list_id=config.email.list_id,
            list_name=config.site.title,
            unsubscribe_mailto=config.email.unsubscribe_mailto,
        )
        self.cache: dict[tuple[tuple[str, ...], tuple[str, ...]], CompiledMessage | None] = {}

    def for_subscriber(self, subscriber: Subscriber) -> CompiledMessage | None:
        """The subscriber's template; None when their filter leaves nothing to send."""
        key = subscriber.filter_key
        if key not in self.cache:
            papers = filter_papers(self.digest.papers, subscriber.include, subscriber.exclude)
            if not papers:
                self.cache[key] = None
            else:
                variant = dataclasses.replace(self.digest, papers=papers)
                rendered = self.renderer.email_message(variant)
                template = prepare_message(
                    rendered, sender=self.config.email.sender, date=self.date, headers=self.headers
                )
                self.cache[key] = template.compile(self.wire_format)
        return self.cache[key]


def unsubscribe_url(config: Config, key: bytes, subscriber: Subscriber) -> str:
    return f"{config.site.url}unsubscribe/{make_token(key, 'unsubscribe', subscriber.id, subscriber.email)}"


def send_digest(
    store: Store,
    config: Config,
    digest: Digest,
    *,
    transport: Transport,
    secret: bytes,
    clock: Callable[[], dt.datetime],
    stop: threading.Event | None = None,
    progress: Callable[[SendReport, int], None] | None = None,
    backoff: Callable[[int], float] = lambda attempt: min(0.5 * 2**attempt, 8.0),
    enqueue: Literal["always", "once"] = "always",
) -> SendReport:
    """Send ``digest`` to everyone who should have it and does not yet; see the module's description.

    ``enqueue="always"`` (``digest send``) also queues subscribers who joined since the
    digest was first sent; ``"once"`` (``digest run``) only resumes after the first time.
    """
    assert digest.id is not None, "only a recorded digest can be sent"
    stop = stop or threading.Event()
    report = SendReport(digest_id=digest.id)
    if enqueue == "always" or store.digests.mark_queued(digest.id, now=clock()):
        report.queued = store.ledger.enqueue(digest.id)
    store.ledger.release_dead_claims(digest.id)
    renderer = Renderer(config.site, config.email, config.templates)
    variants = Variants(digest, config, renderer, clock(), transport.wire_format)
    worker = worker_name()
    connections = config.delivery.connections
    retries = config.delivery.retries

    # The database connection is shared by the pool's threads: one statement at a time.
    db_lock = threading.Lock()

    def deliver(claim: Claim, data: bytes, key: str) -> None:
        """Runs in a pool thread; records its own outcome the moment it is known."""
        recipient = claim.subscriber.email
        outcome, error = "deferred", None
        for attempt in range(retries):
            if stop.is_set() and attempt == 0:
                outcome = "not started"
                break
            try:
                transport.send(recipient, data, key=key)
                outcome = "sent"
                break
            except PermanentFailure as exc:
                outcome, error = "failed", exc.message
                break
            except TemporaryFailure as exc:
                error = exc.message
                if attempt + 1 < retries and not stop.wait(backoff(attempt)):
                    continue
                break
        with db_lock:
            _record(store, config, digest_id, claim, (outcome, error), report, clock())
            if progress is not None:
                progress(report, total)

    digest_id = digest.id
    total = store.ledger.counts(digest_id).open
    window = connections * CLAIM_PER_CONNECTION
    in_flight: set[Future[None]] = set()
    exhausted = False
    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="digest-send") as pool:
        while True:
            # Keep the pool fed: claim more while fewer than half a window is in flight.
            if not exhausted and not stop.is_set() and len(in_flight) <= window // 2:
                with db_lock:
                    claims = store.ledger.claim(
                        digest_id,
                        worker=worker,
                        limit=window - len(in_flight),
                        now=clock(),
                        stale_after=config.delivery.claim_timeout,
                    )
                exhausted = not claims
                skipped = []
                for claim in claims:
                    template = variants.for_subscriber(claim.subscriber)
                    if template is None:
                        skipped.append(claim.subscriber.id)
                        continue
                    data = personalise_message(
                        template,
                        recipient=claim.subscriber.email,
                        message_id=message_id_for(digest_id, claim.subscriber.id, list_id=config.email.list_id),
                        unsubscribe_url=unsubscribe_url(config, secret, claim.subscriber),
                    )
                    in_flight.add(pool.submit(deliver, claim, data, f"digest-{digest_id}-{claim.subscriber.id}"))
                if skipped:
                    with db_lock:
                        store.ledger.mark_skipped(digest_id, skipped, reason=NOTHING_MATCHES)
                        report.skipped += len(skipped)
                if claims:
                    continue
            if not in_flight:
                if exhausted or stop.is_set():
                    break
                continue
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # re-raises an unexpected error (e.g. the database went away)
    report.stopped = stop.is_set()
    transport.close()
    return report


def _record(
    store: Store,
    config: Config,
    digest_id: int,
    claim: Claim,
    outcome: tuple[str, str | None],
    report: SendReport,
    now: dt.datetime,
) -> None:
    status, error = outcome
    subscriber = claim.subscriber
    if status == "sent":
        store.ledger.mark_sent(digest_id, subscriber.id, now=now)
        report.sent += 1
    elif status == "failed":
        with store.transaction():
            store.ledger.mark_failed(digest_id, subscriber.id, error=error or "refused")
            bounced = store.subscribers.record_bounce(subscriber.id, limit=config.delivery.bounce_limit)
        report.failed += 1
        report.bounced += bounced
        report.errors.append(f"{subscriber.email}: {error}")
        log.warning("%s: refused permanently: %s%s", subscriber.email, error, " (now marked bounced)" * bounced)
    elif status == "deferred":
        store.ledger.requeue(digest_id, subscriber.id, error=error, attempts=1, not_before=now + RETRY_LATER)
        report.deferred += 1
        report.errors.append(f"{subscriber.email}: {error}")
        log.warning("%s: temporary failure, a later run retries: %s", subscriber.email, error)
    else:  # not started before a stop
        store.ledger.requeue(digest_id, subscriber.id)


def confirmation_message(
    config: Config, renderer: Renderer, subscriber: Subscriber, *, secret: bytes, now: dt.datetime
) -> bytes:
    """The double opt-in mail: one link to a page whose button confirms the subscription."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from digest.message import POLICY

    token = make_token(secret, "confirm", subscriber.id, subscriber.email, issued=now)
    text = renderer.render("confirm.txt.j2", confirm_url=f"{config.site.url}confirm/{token}", subscriber=subscriber)
    message = EmailMessage(policy=POLICY)
    message["From"] = config.email.sender
    message["To"] = subscriber.email
    message["Subject"] = f"Confirm your subscription to {config.site.title}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=config.email.list_id)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="8bit")
    return message.as_bytes(policy=POLICY)


def send_confirmation(config: Config, subscriber: Subscriber, *, secret: bytes, now: dt.datetime) -> None:
    """Mail a pending subscriber their confirmation link, through the configured transport."""
    transport = make_transport(config)
    try:
        renderer = Renderer(config.site, config.email, config.templates)
        data = confirmation_message(config, renderer, subscriber, secret=secret, now=now)
        transport.send(
            subscriber.email, transport.wire_format(data), key=f"confirm-{subscriber.id}-{int(now.timestamp())}"
        )
    finally:
        transport.close()
