"""Weekly mails: queue a week's mails when it falls due, and send them, through the same send loop as daily.

A week is queued (and its archive page written) by any run between its send time and ``schedule.misfire_grace``
later (a run every five minutes queues it once: a reader has one mail per week);
past that window it is not sent late, and what it would have held waits for the
next week's mail. Mails once queued are sent by any later run, as daily ones are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.config import Config
from digest.mail.report import SendReport
from digest.models import Digest, Subscriber
from digest.ranking.grouping import combined
from digest.store import Store
from digest.store.weekly import MailGroup
from digest.weekly import FIRST_LOOKBACK, next_week_due, week_due

if TYPE_CHECKING:
    from digest.mail.transport import Transport
    from digest.site.render import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueuedWeek:
    week: dt.date
    new: bool  # recorded by this call: its archive page is to be written
    mails: int  # mails queued by this call


def queue_due_week(store: Store, config: Config, now: dt.datetime) -> QueuedWeek | None:
    """Queue this week's mails when its send time has come and is no older than the misfire grace."""
    week, due = week_due(config.schedule.weekly, config.timezone, now)
    if now - due > config.schedule.misfire_grace:
        return None
    new = store.weeks.get(week) is None
    if not new and not store.weekly.readers_waiting(week):  # (the usual case: a run after the week's first)
        return QueuedWeek(week, False, 0)
    mails = store.weekly.queue_week(week, due_at=due, lookback=FIRST_LOOKBACK, now=now)
    return QueuedWeek(week, new, mails)


def prepare_coming_week(store: Store, config: Config, renderer: Renderer, digest_id: int, now: dt.datetime) -> None:
    """When a digest is published and weekly readers wait: do the heavy work of the coming week's mails now.

    Their week is the one the next weekly time queues (the one due now, when a run has not queued it yet);
    their digests, those held for weekly readers and not in a queued mail yet, with this one. Its topics, its
    ranking rows (:func:`digest.ranking.kept.keep_digest`) and its inlined email are made and kept, so that
    the run that queues and sends the mails only reads them. When the week turns out to hold other digests
    (a reader's first mail looks back a week; a digest published after this one), they are made then.
    """
    if not store.subscribers.count_weekly():
        return
    from digest.mail.kept_email import keep_email
    from digest.ranking.grouping import prepare_week_topics, week_scope
    from digest.ranking.kept import keep_digest

    week, due = week_due(config.schedule.weekly, config.timezone, now)
    if now - due > config.schedule.misfire_grace or store.weeks.get(week) is not None:
        week, due = next_week_due(config.schedule.weekly, config.timezone, now)
    ids = sorted({*store.ranking.held_for_weekly(), digest_id})
    digest = combined(store, week, ids, published_at=due)
    if not digest.papers:
        return
    topics = prepare_week_topics(store, week, ids, digest, now=now)
    keep_digest(store, digest, scope=week_scope(week, ids), now=now)
    keep_email(store, config, digest, topics, renderer, now=now)  # (the sender finds its blocks ready)
    log.debug("prepared the weekly mails of %s: %d digests, %d papers", week, len(ids), len(digest.papers))


def waiting_weekly_readers(store: Store, config: Config, now: dt.datetime) -> int:
    """Weekly readers whose mail a run now would queue (for the scheduler's catch-up and ``--dry-run``)."""
    week, due = week_due(config.schedule.weekly, config.timezone, now)
    if now - due > config.schedule.misfire_grace:
        return 0
    return store.weekly.readers_waiting(week)


def week_is_due(store: Store, config: Config, now: dt.datetime) -> bool:
    return waiting_weekly_readers(store, config, now) > 0


def send_weekly(
    store: Store,
    config: Config,
    *,
    transport: Callable[[], Transport],
    secret: Callable[[], bytes],
    clock: Callable[[], dt.datetime],
    stop: threading.Event | None = None,
) -> list[SendReport]:
    """Send every open weekly mail, one digest set at a time (see :func:`queue_due_week` for queueing them).

    One report per week: a week's readers may have had different digests held (one who switched to
    weekly mid-week), and so be sent in several groups, but a week is one line to the operator.
    """
    reports: dict[str, SendReport] = {}
    for group in store.weekly.open_groups():
        if stop is not None and stop.is_set():
            break
        report = send_group(store, config, group, transport=transport(), secret=secret(), clock=clock, stop=stop)
        reports[report.slug] = _combined(reports[report.slug], report) if report.slug in reports else report
        if report.halted:
            break
    return list(reports.values())


def _combined(first: SendReport, then: SendReport) -> SendReport:
    """Two groups' reports of one week as one."""
    counts = ("queued", "sent", "failed", "deferred", "uncertain", "skipped", "bounced", "left", "left_with_others")
    combined = dataclasses.replace(first, **{name: getattr(first, name) + getattr(then, name) for name in counts})
    combined.stopped = first.stopped or then.stopped
    combined.halted = first.halted or then.halted
    combined.server_error = then.server_error or first.server_error
    combined.errors = first.errors + then.errors
    return combined


def send_group(
    store: Store,
    config: Config,
    group: MailGroup,
    *,
    transport: Transport,
    secret: bytes,
    clock: Callable[[], dt.datetime],
    stop: threading.Event | None = None,
) -> SendReport:
    from digest.mail.deliver import send_queue
    from digest.mail.mailer import mailer_for
    from digest.mail.queues import WeeklyQueue
    from digest.ranking.grouping import week_scope, week_topics

    week = store.weeks.get(group.week)
    published_at = week.due_at if week is not None else clock()
    digest = combined(store, group.week, group.digests, published_at=published_at)
    queue = WeeklyQueue(store, group, list_id=config.email.list_id)
    topics = week_topics(store, group.week, group.digests, digest)
    scope = week_scope(group.week, group.digests)
    mailer = mailer_for(store, config, digest, transport=transport, now=clock(), topics=topics, scope=scope)
    report = SendReport(digest_id=0, slug=queue.name)
    return send_queue(store, config, queue, mailer, report, transport=transport, secret=secret, clock=clock, stop=stop)


def week_so_far(store: Store, config: Config, subscriber: Subscriber, now: dt.datetime) -> tuple[dt.date, list[Digest]]:
    """The next week's name, and the daily digests waiting for the subscriber's next weekly mail (not yet in a queued
    one; a reader who has had none also has the days their first mail looks back on), oldest first."""
    week, due = next_week_due(config.schedule.weekly, config.timezone, now)
    ids = set(store.weekly.held_digests(subscriber.id))
    if not store.weekly.has_mail(subscriber.id):
        ids |= set(store.weekly.unsent_since(subscriber.id, due - FIRST_LOOKBACK))
    ids -= store.weekly.taken_digests(subscriber.id)
    return week, [digest for digest in map(store.digests.get, sorted(ids)) if digest is not None]


def next_weekly(store: Store, config: Config, subscriber: Subscriber, now: dt.datetime) -> Digest | None:
    """What the subscriber's next weekly mail would hold as of ``now`` (for ``digest preview``); None: nothing."""
    week, due = week_due(config.schedule.weekly, config.timezone, now)
    if now - due > config.schedule.misfire_grace or store.weeks.get(week) is None:
        week, due = next_week_due(config.schedule.weekly, config.timezone, now)
    ids = store.weekly.taken_digests(subscriber.id) or set(store.weekly.held_digests(subscriber.id))
    if not store.weekly.has_mail(subscriber.id):
        ids |= set(store.weekly.unsent_since(subscriber.id, due - FIRST_LOOKBACK))
    if not ids:
        return None
    return combined(store, week, sorted(ids), published_at=now)
