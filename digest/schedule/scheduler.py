"""The long-running scheduler: APScheduler 3 (a BlockingScheduler) over the same one pass as cron.

Jobs, from the ``schedule`` section of schedule.yaml, in its timezone:

* ``poll`` every ``schedule.poll``: ingest pending dumps (with ``send: on-arrival``
  also publish and send as soon as something new was ingested, or a send is unfinished);
* ``send`` at the ``schedule.send`` crontab time: ingest, publish, send;
* ``weekly`` at ``schedule.weekly``'s day and time: queue and send the weekly
  readers' mails (only those: ``send`` may skip that day; when both fall at the same
  time, the send's pass has queued them and the weekly job finds nothing to do).

Each job runs alone (``max_instances=1``, ``coalesce=True``, ``misfire_grace_time``)
and under the same run lock as ``digest run``, so a cron job and the scheduler
never work at once. A send that fell due while the scheduler was down (within
the misfire grace) runs once at start, not once per missed day. SIGTERM and
SIGINT stop it cleanly: no new job or message starts, the current message is
finished and recorded, and the process exits with status 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from digest.config import Config
from digest.cron import crontab_trigger, previous_fire_time
from digest.errors import DigestError, LockedError
from digest.mail.transport import Transport
from digest.mail.weekly import week_is_due
from digest.pipeline import RunReport, fetch_and_ingest, run_once
from digest.schedule.lock import run_lock
from digest.schedule.log import BusyJobNotice, describe
from digest.store import Store
from digest.weekly import DAYS

log = logging.getLogger(__name__)

LAST_SEND = "last_send"
#: How often a send job that finds the run lock taken tries again.
LOCK_RETRY_SECONDS = 5.0


class DigestScheduler:
    def __init__(
        self,
        config: Config,
        *,
        open_store: Callable[[], Store],
        clock: Callable[[], dt.datetime],
        secret: Callable[[], bytes],
        transport: Callable[[], Transport],
    ) -> None:
        self.config = config
        self.open_store = open_store
        self.clock = clock
        self.secret = secret
        self.transport = transport
        self.stop = threading.Event()
        self.jobs = threading.Lock()  # one job at a time in this process
        self.scheduler: Any = None
        self.ended = threading.Event()  # run_forever has returned (its scheduler will not start now)
        self.busy_notice = BusyJobNotice()

    # -- jobs ----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self, job: str, *, wait: bool) -> Iterator[bool]:
        """Hold this process's job lock and the run lock; yields False when the job should not run."""
        with self.jobs:
            deadline = self.clock() + self.config.schedule.misfire_grace
            while True:
                try:
                    with run_lock(self.config.database):
                        yield True
                        return
                except LockedError:
                    if not wait or self.clock() >= deadline:
                        log.info("job=%s outcome=skipped reason=locked", job)
                        yield False
                        return
                if self.stop.wait(LOCK_RETRY_SECONDS):
                    yield False
                    return

    def poll(self) -> None:
        if self.stop.is_set():
            return
        self.busy_notice.ran("poll")
        try:
            with self._locked("poll", wait=False) as ok:
                if not ok:
                    return
                with self.open_store() as store:
                    if self.config.schedule.on_arrival:
                        report = self._on_arrival(store)
                    else:
                        fetched, ingested = fetch_and_ingest(store, self.config, now=self.clock())
                        report = RunReport(fetched=fetched, ingested=ingested)
            if report.did_anything or report.problems or any(r.status == "new" for r in report.fetched):
                log.info("job=poll outcome=%s %s", "problems" if report.problems else "ok", describe(report))
        except DigestError as exc:
            log.error("job=poll outcome=error error=%r", exc.one_line())
        except Exception as exc:
            log.exception("job=poll outcome=error error=%r", f"{type(exc).__name__}: {exc}")

    def _on_arrival(self, store: Store) -> RunReport:
        fetched, ingested = fetch_and_ingest(store, self.config, now=self.clock())
        if not any(r.status == "ingested" for r in ingested) and not store.digests.to_send():
            return RunReport(fetched=fetched, ingested=ingested)
        report = self._run(store, ingest=False)
        report.fetched, report.ingested = fetched, ingested
        return report

    def send(self) -> None:
        if self.stop.is_set():
            return
        started = self.clock()
        self.busy_notice.ran("send")
        log.info("job=send outcome=started")
        try:
            with self._locked("send", wait=True) as ok:
                if not ok:
                    return
                with self.open_store() as store:
                    report = self._run(store, ingest=True)
                    store.set_state(LAST_SEND, started)
            log.info("job=send outcome=%s %s", "problems" if report.problems else "ok", describe(report))
        except DigestError as exc:
            log.error("job=send outcome=error error=%r", exc.one_line())
        except Exception as exc:
            log.exception("job=send outcome=error error=%r", f"{type(exc).__name__}: {exc}")

    def weekly(self) -> None:
        """The weekly readers' mails (a pass that ingests, publishes and sends nothing daily); quiet when idle."""
        if self.stop.is_set():
            return
        self.busy_notice.ran("weekly")
        try:
            with self._locked("weekly", wait=True) as ok:
                if not ok:
                    return
                with self.open_store() as store:
                    report = self._run(store, ingest=False, daily=False)
            if report.sends:
                log.info("job=weekly outcome=%s %s", "problems" if report.problems else "ok", describe(report))
        except DigestError as exc:
            log.error("job=weekly outcome=error error=%r", exc.one_line())
        except Exception as exc:
            log.exception("job=weekly outcome=error error=%r", f"{type(exc).__name__}: {exc}")

    def _run(self, store: Store, *, ingest: bool, daily: bool = True) -> RunReport:
        return run_once(
            store,
            self.config,
            daily=daily,
            clock=self.clock,
            secret=self.secret,
            transport=self.transport,
            stop=self.stop,
            ingest=ingest,
        )

    # -- the scheduler ---------------------------------------------------------------------------

    def missed_send(self, now: dt.datetime) -> dt.datetime | None:
        """The send time missed while down (within the grace), if it has not run since."""
        if self.config.schedule.on_arrival:
            return None
        trigger = crontab_trigger(self.config.schedule.send, self.config.timezone)
        due = previous_fire_time(trigger, now, within=self.config.schedule.misfire_grace)
        if due is None:
            return None
        with self.open_store() as store:
            last = store.state(LAST_SEND)
        return due if last is None or last < due else None

    def missed_weekly(self, now: dt.datetime) -> bool:
        """True when the week's mails fell due while down (within the grace) and are not all queued."""
        with self.open_store() as store:
            return week_is_due(store, self.config, now)

    def build(self) -> Any:
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        schedule = self.config.schedule
        scheduler = BlockingScheduler(
            timezone=self.config.timezone,
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": int(schedule.misfire_grace.total_seconds()),
            },
        )
        now = self.clock()
        scheduler.add_job(
            self.poll,
            IntervalTrigger(seconds=schedule.poll.total_seconds(), timezone=self.config.timezone),
            id="poll",
            name="poll",
            next_run_time=now,
        )
        missed = None
        if not schedule.on_arrival:
            scheduler.add_job(self.send, crontab_trigger(schedule.send, self.config.timezone), id="send", name="send")
            missed = self.missed_send(now)
            if missed is not None:
                log.info("job=send outcome=catching-up due=%s", missed.isoformat())
                scheduler.add_job(self.send, id="send-missed", name="send (missed)", next_run_time=now)
        # Weekly readers' mails: their own time (a send at the same minute finds them sent: the second job is quiet).
        weekly = schedule.weekly
        trigger = CronTrigger(
            day_of_week=DAYS[weekly.weekday],
            hour=weekly.at.hour,
            minute=weekly.at.minute,
            timezone=self.config.timezone,
        )
        scheduler.add_job(self.weekly, trigger, id="weekly", name="weekly")
        if missed is None and self.missed_weekly(now):
            log.info("job=weekly outcome=catching-up")
            scheduler.add_job(self.weekly, id="weekly-missed", name="weekly (missed)", next_run_time=now)
        self.scheduler = scheduler
        return scheduler

    def request_stop(self, *_: object) -> None:
        """Stop: no new job or message starts; the running job finishes its current message.

        Safe to call again (a second signal, even one arriving inside the first handler).
        """
        already = self.stop.is_set()
        self.stop.set()
        if already:
            return
        log.info("stopping: finishing the current message, starting nothing new")
        if self.scheduler is not None:
            threading.Thread(target=self._shutdown, daemon=True).start()

    def _shutdown(self) -> None:
        """Shut the scheduler down, once it runs: a signal can come between its building and its start (just
        after "scheduler started" is said), and a shutdown before the start is no shutdown at all."""
        from apscheduler.schedulers import SchedulerNotRunningError

        while not self.ended.is_set():
            try:
                self.scheduler.shutdown(wait=True)
                return
            except SchedulerNotRunningError:
                self.ended.wait(0.05)

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)

    def route_scheduler_logs(self) -> None:
        """APScheduler's warnings go out like ours ("digest: ..."), and a busy job is said once."""
        ours = logging.getLogger("digest")
        theirs = logging.getLogger("apscheduler")
        theirs.setLevel(logging.WARNING)
        theirs.handlers[:] = ours.handlers
        theirs.propagate = False
        logging.getLogger("apscheduler.scheduler").addFilter(self.busy_notice)

    def run_forever(self) -> None:
        """Run until stopped. Call install_signal_handlers() first, as early as possible."""
        try:
            self._run_until_stopped()
        finally:
            self.ended.set()

    def _run_until_stopped(self) -> None:
        scheduler = self.build()
        if self.stop.is_set():  # a signal arrived while starting
            log.info("scheduler stopped before its first job")
            return
        self.route_scheduler_logs()
        log.info(
            "scheduler started: poll every %ss, send %s (%s)",
            int(self.config.schedule.poll.total_seconds()),
            self.config.schedule.send,
            self.config.timezone,
        )
        scheduler.start()
        log.info("scheduler stopped")
