"""Sending a digest: the ledger, the messages and a transport, chained.

1. Queue the digest for every active subscriber who has no ledger row for it.
2. Claim a small batch of deliveries (several workers may share the work).
3. For each, rank the digest for the subscriber's profile and assemble their
   message from the blocks rendered once per digest (see :mod:`digest.mail.mailer`),
   and hand it to the transport in ``connections`` threads (see
   :mod:`digest.mail.connections`; for SMTP, in a sending process of their own:
   :mod:`digest.mail.sending_process`). They only speak SMTP; the main thread does all the database work,
   recording the results that have come in (``sent``
   right after the server accepted a message) in one transaction as soon as any
   thread finishes, so the connections never wait for the database.
4. Repeat until nothing is left to claim, or until asked to stop: then no new
   message starts, and those not started go back to the queue.

Whose fault a failure is decides what it does:

- a 5xx to a recipient's RCPT fails that delivery and counts towards the
  recipient's bounce limit; a 4xx to it is retried with backoff, then left for a
  later run. One recipient's failure never stops the others;
- a failure that is not about a recipient (the server refuses the sender or the
  message, is down, hangs; the outbox cannot be written) is never held against
  anyone: the delivery stays queued. A permanent one, or a few in a row, trips
  the breaker: no new message starts, everything left stays queued, and the run
  says once what the server said;
- no answer after a message's final "." means it may have been delivered: it is
  recorded as sent but *uncertain*, and not resent;
- when a result cannot be recorded (the database went away), no new message
  starts: a message sent but not recorded would be sent again by the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Literal, cast

from digest.config import Config
from digest.errors import StoreError
from digest.mail.assemblers import Assemblers, Order
from digest.mail.connections import Connections
from digest.mail.mailer import Mailer, mailer_for
from digest.mail.queues import DeliveryQueue, DigestQueue
from digest.mail.recording import record_outcome
from digest.mail.report import Breaker, Outcome, SendReport
from digest.mail.sending_process import SendingProcess, can_fork
from digest.mail.sending_wire import Outgoing
from digest.mail.transport import MaybeDelivered, PermanentFailure, ServerFailure, TemporaryFailure, Transport
from digest.mail.verp import return_path
from digest.models import Digest, Profile
from digest.store import Store
from digest.store.ledger import Claim, worker_name

log = logging.getLogger(__name__)

#: Deliveries claimed at a time, per connection.
CLAIM_PER_CONNECTION = 16
NOTHING_MATCHES = "no paper of this digest matches the subscriber's filter"
#: Messages built per task of the assembler processes.
BUILD_CHUNK = 16
#: Below this many deliveries, the sender builds every message itself (worker processes cost a start).
ASSEMBLE_ALONE = 200
#: What a connection thread hands back: what became of a message, and the server's words.
Sent = tuple[Outcome, str | None]
#: An outcome with its claim, as the sending thread records it.
Delivered = tuple[Claim, Outcome, str | None]


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
    report = SendReport(digest_id=digest.id, slug=digest.slug)
    if enqueue == "always" or store.digests.mark_queued(digest.id, now=clock()):
        report.queued = store.ledger.enqueue(digest.id)
    queue = DigestQueue(store, digest.id, name=digest.slug, list_id=config.email.list_id)
    mailer = mailer_for(store, config, digest, transport=transport, now=clock())
    return send_queue(
        store, config, queue, mailer, report,
        transport=transport, secret=secret, clock=clock, stop=stop, progress=progress, backoff=backoff,
    )  # fmt: skip


def send_queue(
    store: Store,
    config: Config,
    queue: DeliveryQueue,
    mailer: Mailer,
    report: SendReport,
    *,
    transport: Transport,
    secret: bytes,
    clock: Callable[[], dt.datetime],
    stop: threading.Event | None = None,
    progress: Callable[[SendReport, int], None] | None = None,
    backoff: Callable[[int], float] = lambda attempt: min(0.5 * 2**attempt, 8.0),
) -> SendReport:
    """Claim, build, send and record every open delivery of ``queue``; see the module's description."""
    stop = stop or threading.Event()
    queue.release_dead_claims()
    worker = worker_name()
    retries = config.delivery.retries
    breaker = Breaker()
    lost: list[StoreError] = []  # a result that could not be recorded: the store went away
    # Over SMTP, the connections run in a sending process (see digest.mail.sending_process), where the events
    # above are copies: the sender tells it to halt, and it sets an event of its own, made for it.
    total = queue.open_count()
    apart = transport.sends_apart and can_fork() and total > 0  # (with nothing to send, no process is started)
    halting = threading.Event()

    def halted() -> bool:
        return stop.is_set() or breaker.tripped.is_set() or halting.is_set()

    def attempt(recipient: str, data: bytes | memoryview, key: str, sender: str | None) -> tuple[Outcome, str | None]:
        error: str | None = None
        for number in range(retries):
            if halted() and number == 0:
                return "not started", None
            try:
                transport.send(recipient, data, key=key, sender=sender)
                return "sent", None
            except PermanentFailure as exc:
                return "failed", exc.message
            except MaybeDelivered as exc:
                return "uncertain", exc.message
            except ServerFailure as exc:
                if exc.permanent:
                    return "halt", exc.one_line()
                error = exc.one_line()
                outcome: Outcome = "server"
            except TemporaryFailure as exc:
                error, outcome = exc.message, "deferred"
            if number + 1 >= retries or (halting if apart else stop).wait(backoff(number)) or halted():
                return outcome, error
        return "deferred", error

    def deliver(message: Outgoing) -> Sent:
        """Runs in a connection thread: sends, and hands the outcome back (the main thread records it)."""
        return attempt(message.recipient, message.data, message.key, message.sender)

    def record(results: list[Delivered]) -> None:
        """Record the outcomes that have come in, in one transaction; on failure, start nothing more."""
        if lost:  # nothing can be recorded: the claims stay for a later run to take over
            return
        now = clock()
        plain = [
            claim.subscriber.id for claim, outcome, _ in results if outcome == "sent" and not claim.subscriber.bounces
        ]
        try:
            with store.transaction():
                queue.sent(plain, now=now)
                for claim, outcome, error in results:
                    if outcome != "sent" or claim.subscriber.bounces:
                        record_outcome(store, config, queue, claim, (outcome, error), report, breaker, now)
            report.sent += len(plain)
            if plain:
                breaker.success()
        except StoreError as exc:
            lost.append(exc)
            breaker.trip("a delivery result could not be recorded")
            return
        if progress is not None:
            progress(report, total)

    window = config.delivery.connections * CLAIM_PER_CONNECTION
    building: dict[Future[list[bytes | None]], list[Claim]] = {}
    exhausted = False
    with contextlib.ExitStack() as stack:
        assemblers = stack.enter_context(Assemblers(mailer, secret, 0 if total < ASSEMBLE_ALONE else None))
        connections: Connections[Claim, Outgoing, Sent] = Connections(config.delivery.connections, deliver)
        if apart:  # (forked after the assemblers: none of them holds its pipe, whose end tells it the sender died)
            try:
                connections = SendingProcess(
                    config.delivery.connections, deliver, on_halt=halting.set, finish=transport.close, stop=stop
                )
            except OSError as exc:  # (no process to be had: the threads work here)
                apart = False
                log.info("sending from this process: cannot start a sending process (%s)", exc.strerror or exc)
        stack.enter_context(connections)

        def held() -> int:
            return connections.pending + sum(len(claims) for claims in building.values())

        while True:
            if halted():
                connections.halt()  # (a sending process is told; threads see it themselves)
            # Keep both fed: claim more while less than half a window is being built or sent.
            if not exhausted and not halted() and held() <= window // 2:
                claims = queue.claim(
                    worker=worker, limit=window - held(), now=clock(), stale_after=config.delivery.claim_timeout
                )
                exhausted = not claims
                profiles = mailer.profiles(store, [claim.subscriber for claim in claims])  # (and their rows)
                orders = make_orders(mailer, assemblers, claims, profiles, queue)  # (ranked together)
                for start in range(0, len(claims), BUILD_CHUNK):
                    future = assemblers.submit(orders[start : start + BUILD_CHUNK])
                    building[future] = claims[start : start + BUILD_CHUNK]
                    future.add_done_callback(connections.notify)  # (at once when built here)
                if claims:
                    continue
            if not connections.pending and not building:
                if exhausted or halted():
                    break
                continue
            taken, failure = connections.outcomes()
            results = []
            for item in taken:
                if isinstance(item, Future):  # a batch built
                    skipped = []
                    handed: list[tuple[Claim, Outgoing]] = []
                    built: list[bytes | None] = item.result()  # (re-raises an error of the building)
                    for claim, data in zip(building.pop(item), built, strict=True):
                        if data is None:
                            skipped.append(claim.subscriber.id)
                        else:  # (after a stop, the message is not started and its claim goes back to the queue)
                            subscriber = claim.subscriber
                            sender = return_path(config, secret, queue.delivery, subscriber.id)  # (VERP, if set)
                            message = Outgoing(subscriber.email, data, queue.key(subscriber.id), sender)
                            handed.append((claim, message))
                    connections.put_many(handed)
                    if skipped:
                        queue.skipped(skipped, reason=NOTHING_MATCHES)
                        report.skipped += len(skipped)
                else:
                    claim, (outcome, error) = cast(tuple[Claim, Sent], item)
                    results.append((claim, outcome, error))
            connections.done(len(results))
            if results:
                record(results)
            if failure is not None:
                raise failure  # (an unexpected error of a connection thread, once the others are recorded)
    transport.close()
    if lost:
        raise lost[0]
    report.stopped = stop.is_set()
    report.halted = breaker.reason
    # Another worker's claims first, then all that is open: one it finished in between is neither (counted the
    # other way round, it would be reported as waiting to be retried when nothing had failed).
    others = queue.claimed_by_others(worker)
    report.left = queue.open_count()
    report.left_with_others = min(others, report.left)
    return report


def make_orders(
    mailer: Mailer, assemblers: Assemblers, claims: Sequence[Claim], profiles: dict[int, Profile], queue: DeliveryQueue
) -> list[Order]:
    """What readers' messages are built from: their profiles, and their rankings when a worker cannot make them
    (made here, together)."""
    readers = [(claim.subscriber, profiles[claim.subscriber.id]) for claim in claims]
    here = [(subscriber, profile) for subscriber, profile in readers if not assemblers.ranks(profile)]
    rankings = dict(zip((subscriber.id for subscriber, _ in here), mailer.rank_many(here), strict=True))
    return [
        Order(subscriber, profile, queue.message_id(subscriber.id), rankings.get(subscriber.id))
        for subscriber, profile in readers
    ]
