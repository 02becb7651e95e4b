"""The one place that chains the stages: inbox -> history -> digest -> archive, feeds -> mail.

A run with nothing to do (cron's every few minutes) reads the inbox and the store and stops: the rendering,
ranking and HTTP libraries are imported by the steps that use them, not before.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from digest.config import Config
from digest.listings.compose import build_digest
from digest.listings.ingest import ingest_context, ingest_paths, ingest_pending
from digest.mail.report import SendReport
from digest.mail.weekly import prepare_coming_week, queue_due_week, send_weekly
from digest.models import Digest, IngestResult
from digest.site.stamp import page_path, site_is_current, stamp_site
from digest.store import Store
from digest.weekly import week_slug

if TYPE_CHECKING:
    from digest.listings.sources import FetchResult
    from digest.mail.transport import Transport
    from digest.site.render import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishResult:
    digest: Digest | None  # None: nothing new since the last digest
    written: tuple[Path, ...]  # site files whose content changed


def renderer_for(config: Config, *, store: Store | None = None, now: dt.datetime | None = None) -> Renderer:
    """The renderer of this configuration; with a store, inlined email HTML is kept in it across processes."""
    from digest.site.render import Renderer

    cache = store.rendered_html(now) if store is not None and now is not None else None
    return Renderer(config.site, config.email, config.templates, inline_cache=cache)


def pending_digest(store: Store, now: dt.datetime) -> Digest | None:
    """The digest of everything new since the last published one, not yet recorded."""
    dumps = store.digests.dumps_after(store.digests.watermark())
    if not dumps:
        return None
    first, last = dumps[0].id, dumps[-1].id
    return build_digest(
        dumps=dumps,
        papers=store.digests.papers_first_seen_in(first, last),
        now=now,
        taken_slugs=store.digests.slugs(),
        listed_earlier=store.digests.listed_earlier(first, last),
    )


def publish(
    store: Store, config: Config, *, now: dt.datetime, rebuild: bool = False, refresh: bool = True
) -> PublishResult:
    """Record the digest of everything new (if anything is), then write or refresh the site.

    The digest is recorded before any file is written; files are built in memory
    first, then each is replaced atomically. A crash between the two is mended by
    the next publish, which renders any digest page missing on disk. A new digest's
    email is rendered here too, once: a broken template fails the publish, not a
    send, and every later sender finds its blocks ready (see :mod:`digest.mail.kept_email`). Its topics are
    computed here too, and kept: every mail and page of the digest shows the same;
    and so is its ranking (:mod:`digest.ranking.kept`): a sender only reads it.

    ``refresh=False`` (a run): when nothing is new and the site was last written from
    the store and templates as they are (see :mod:`digest.site.stamp`), it is left alone.
    """
    with store.transaction(exclusive=True):
        pending = pending_digest(store, now)
        digest_id = store.digests.record(pending) if pending is not None else None
    del pending  # (a large digest is not held twice while its pages are built)
    if digest_id is None and not rebuild and not refresh and site_is_current(store, config):
        return PublishResult(digest=None, written=())
    from digest.mail.kept_email import keep_email
    from digest.ranking.grouping import topics_of
    from digest.ranking.kept import keep_digest

    recorded = store.digests.get(digest_id) if digest_id is not None else None
    if recorded is not None:  # first: a large digest's features come and go before its pages are built
        keep_digest(store, recorded, now=now)
    del recorded  # (read again below: not held while the site is built)
    renderer = renderer_for(config, store=store, now=now)
    written = _write_site(store, config, renderer, rebuild=rebuild)
    recorded = store.digests.get(digest_id) if digest_id is not None else None
    if recorded is not None:  # as a sender will render it: the same document, inlined once
        keep_email(store, config, recorded, topics_of(store, recorded), renderer, now=now)
        prepare_coming_week(store, config, renderer, recorded.id or 0, now)
        log.debug("published digest %s: %d new papers", recorded.slug, recorded.new_count)
    return PublishResult(digest=recorded, written=tuple(written))


def _write_site(store: Store, config: Config, renderer: Renderer, *, rebuild: bool = False) -> list[Path]:
    """Build the site in memory, write what changed, and stamp it with what it was built from."""
    from digest.site.builder import build_site, write_site

    written = write_site(config.site.dir, build_site(store, renderer, config.site, rebuild=rebuild))
    stamp_site(store, config)
    return written


def _write_week(store: Store, config: Config, renderer: Renderer, week: dt.date) -> list[Path]:
    """Write a newly queued week's pages and the index into a site that was current, and stamp it."""
    from digest.site.builder import build_week, write_site

    written = write_site(config.site.dir, build_week(store, renderer, config.site, week))
    stamp_site(store, config)
    return written


RunStep = Literal["ingested", "published", "sent"]


def fetch_and_ingest(store: Store, config: Config, *, now: dt.datetime) -> tuple[list[FetchResult], list[IngestResult]]:
    """Fetch the configured sources into the inbox, then ingest: what was fetched first, then what else waits.

    A fetched file is written whole (atomically) by this very process, so it does not wait for the
    inbox's settle time.
    """
    context = ingest_context(config, now)
    if not config.sources:
        return [], ingest_pending(store, context)
    from digest.listings.sources import fetch_all, fetched_paths

    fetched = fetch_all(store, config, now=now)
    ingested = ingest_paths(store, fetched_paths(fetched), context)
    return fetched, ingested + ingest_pending(store, context)


@dataclass
class RunReport:
    """What one pass of ``digest run`` did."""

    fetched: list[FetchResult] = field(default_factory=list)
    ingested: list[IngestResult] = field(default_factory=list)
    digest: Digest | None = None
    sends: list[SendReport] = field(default_factory=list)
    stopped: bool = False  # asked to stop before every published digest was sent
    unsent: int = 0  # published digests not sent yet when the run was stopped

    @property
    def rejected(self) -> list[IngestResult]:
        return [result for result in self.ingested if result.status == "rejected"]

    @property
    def problems(self) -> int:
        failed_fetches = sum(result.status == "failed" for result in self.fetched)
        return failed_fetches + len(self.rejected) + sum(report.problems for report in self.sends)

    @property
    def work_left(self) -> bool:
        return bool(self.unsent or any(report.work_left for report in self.sends))

    @property
    def did_anything(self) -> bool:
        return bool(
            any(result.status == "ingested" for result in self.ingested)
            or self.digest is not None
            or any(report.sent or report.failed or report.deferred for report in self.sends)
        )


def run_once(
    store: Store,
    config: Config,
    *,
    clock: Callable[[], dt.datetime],
    secret: Callable[[], bytes],
    transport: Callable[[], Transport],
    stop: threading.Event | None = None,
    ingest: bool = True,
    send: bool = True,
    daily: bool = True,
    on_step: Callable[[RunReport, RunStep], None] | None = None,
) -> RunReport:
    """One pass: ingest pending dumps, publish what is new, send what is unsent, and weekly mails when due.

    Idempotent. With ``daily=False`` (the scheduler's weekly job, on a day ``schedule.send`` may
    skip) only weekly mails: nothing is ingested, published or sent daily.

    ``secret`` and ``transport`` are asked for only when there is mail to send. ``on_step`` is
    told after each stage, so that progress is reported as it happens, even by a run that fails later.
    """
    report = RunReport()
    step = on_step or (lambda _report, _step: None)
    if not daily:
        for digest_id in store.digests.to_send():  # (a digest no send has queued yet waits for them too)
            store.ledger.hold_for_weekly(digest_id)
        current = site_is_current(store, config)
        return _weekly_part(
            store, config, report, step,
            clock=clock, secret=secret, transport=transport, stop=stop, site_current=current,
        )  # fmt: skip
    if ingest:
        report.fetched, report.ingested = fetch_and_ingest(store, config, now=clock())
        step(report, "ingested")
    report.digest = publish(store, config, now=clock(), refresh=False).digest
    step(report, "published")
    if not send:
        return report
    latest = store.digests.latest_id()
    if latest is not None and report.digest is None:
        # A new subscriber gets the latest digest at once, never older ones. (A digest published
        # by this run is queued for every active subscriber anyway.)
        store.ledger.enqueue_newcomers(latest)
    pending = store.digests.to_send()
    for position, digest_id in enumerate(pending):
        if stop is not None and stop.is_set():
            report.stopped, report.unsent = True, len(pending) - position
            break
        published = report.digest
        # (the digest this run published is sent as it is: a large one is not read and held a second time)
        digest = published if published is not None and published.id == digest_id else store.digests.get(digest_id)
        if digest is None:
            continue
        if not store.subscribers.counts().get("active") and store.ledger.counts(digest_id).open == 0:
            store.digests.mark_queued(digest_id, now=clock())  # nobody to send to: nothing left to do
            continue
        from digest.mail.deliver import send_digest

        sent = send_digest(
            store, config, digest, transport=transport(), secret=secret(), clock=clock, stop=stop, enqueue="once"
        )
        report.sends.append(sent)
        step(report, "sent")
        if sent.halted:  # the server is the problem: the next digest would fare no better
            report.unsent = len(pending) - position - 1
            break
    if report.stopped or any(sent.halted for sent in report.sends):
        return report
    # After the daily digests, so that one published by this run waits for the weekly readers too. (The publish
    # above left the site as the store is: written, or found current.)
    return _weekly_part(
        store, config, report, step,
        clock=clock, secret=secret, transport=transport, stop=stop, site_current=True,
    )  # fmt: skip


def _weekly_part(
    store: Store,
    config: Config,
    report: RunReport,
    step: Callable[[RunReport, RunStep], None],
    *,
    clock: Callable[[], dt.datetime],
    secret: Callable[[], bytes],
    transport: Callable[[], Transport],
    stop: threading.Event | None,
    site_current: bool,
) -> RunReport:
    """Queue the week's mails when due (and write its page, which they link to), then send open weekly mails.

    ``site_current``: the site was as the store is before the week was queued, so that only the week's pages
    and the index need writing (else the whole site is written, as a publish writes it)."""
    queued = queue_due_week(store, config, clock())
    if queued is not None and (queued.new or not (config.site.dir / page_path(week_slug(queued.week))).exists()):
        renderer = renderer_for(config, store=store, now=clock())
        if site_current:
            _write_week(store, config, renderer, queued.week)
        else:
            _write_site(store, config, renderer)
    for weekly in send_weekly(store, config, transport=transport, secret=secret, clock=clock, stop=stop):
        report.sends.append(weekly)
        step(report, "sent")
    return report
