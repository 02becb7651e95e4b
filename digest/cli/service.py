"""Commands that run the whole job: run (for cron), schedule, serve."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from digest.cli.env import (
    Environment,
    config_from,
    counted,
    rejection_line,
    send_problem_lines,
    signing_key,
    store_for,
)
from digest.cli.fetching import fetch_line
from digest.cli.history import ingest_line
from digest.cli.parsing import CommandFactory, Parser, positive_arg
from digest.errors import ExitStatus

if TYPE_CHECKING:
    from digest.config import Config
    from digest.mail.transport import Transport


def cmd_run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal
    import threading

    from digest.pipeline import RunReport, RunStep, run_once
    from digest.schedule.lock import run_lock
    from digest.schedule.plan import plan_run

    config = config_from(args, env, sends=True)
    now = env.clock()
    if args.dry_run:
        with store_for(config, now) as store:
            plan = plan_run(store, config, now=now)
        if config.sources:
            names = ", ".join(source.name for source in config.sources)
            env.out(f"would fetch {len(config.sources)} source(s) first: {names} (a dry run fetches nothing)")
        for name, action, new in plan.dumps:
            what = f"ingest ({counted(new, 'new paper')})" if action == "ingest" else action
            env.out(f"would {what}: {name}")
        publishing = f"would publish a digest of {counted(plan.new_papers, 'paper')}"
        env.out(publishing if plan.new_papers else "nothing new to publish")
        env.out(
            f"would send {plan.digests_to_send} digest(s) to up to {plan.active_subscribers} active subscribers"
            if plan.digests_to_send and plan.active_subscribers
            else "nothing to send"
        )
        if plan.weekly_readers:
            env.out(f"would queue this week's weekly mail for {plan.weekly_readers} weekly reader(s)")
        if plan.weekly_open:
            env.out(f"would send {plan.weekly_open} weekly mail(s) queued earlier")
        return ExitStatus.OK
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    chatty = args.verbose or env.is_interactive

    def show(report: RunReport, step: RunStep) -> None:
        """Progress as it happens: a run that fails later keeps what it did."""
        if step == "ingested":
            for fetched in report.fetched:
                if fetched.status == "failed":
                    env.err(fetch_line(fetched))
                elif chatty:
                    env.out(fetch_line(fetched))
            for result in report.ingested:
                if result.status == "rejected":
                    env.err(rejection_line(result, config.rejected))
                elif chatty:
                    env.out(ingest_line(result))
        elif step == "published" and chatty and report.digest is not None:
            env.out(f"published {report.digest.slug}: {counted(report.digest.new_count, 'new paper')}")
        elif step == "sent":
            send = report.sends[-1]
            for line in send_problem_lines(send):
                env.err(line)
            if chatty:
                env.out(
                    f"digest {send.slug}: {send.sent} sent, {send.failed} failed, {send.deferred} to retry"
                    f" later, {send.skipped} skipped by filters"
                )

    try:
        with run_lock(config.database), store_for(config, now) as store:
            report = run_once(
                store,
                config,
                clock=env.clock,
                secret=lambda: signing_key(env, config),
                transport=lambda: transport_for(config),
                stop=stop,
                on_step=show,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if report.unsent:
        why = "stopped on request: " if report.stopped else ""
        env.err(f"{why}{report.unsent} more published digest(s) not sent yet; a later run sends them")
    if args.verbose and not report.did_anything:
        waiting = sum(result.status == "waiting" for result in report.ingested)
        env.out(
            f"nothing to do yet: {counted(waiting, 'dump')} {'waits' if waiting == 1 else 'wait'} to settle,"
            " nothing new to publish, nothing left to send"
            if waiting
            else "nothing to do: no new dump, nothing new to publish, nothing left to send"
        )
    return ExitStatus.PARTIAL if report.problems or report.work_left else ExitStatus.OK


def transport_for(config: Config) -> Transport:
    """The configured transport, its module loaded only when there is mail to send."""
    from digest.mail.mailer import make_transport

    return make_transport(config)


def cmd_schedule(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal

    # Before anything slow (the mail and ranking libraries take a second to load): a SIGTERM from
    # the first moment on stops the scheduler cleanly, with status 0.
    stop_requested: list[object] = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop_requested.append(True))

    from digest.mail.mailer import make_transport
    from digest.schedule.scheduler import DigestScheduler
    from digest.store import open_store

    config = config_from(args, env, sends=True)
    with store_for(config, env.clock()):
        pass  # fail at start, not at the first job, when the database is unreachable
    logging.getLogger("digest").setLevel(logging.DEBUG if args.debug else logging.INFO)
    scheduler = DigestScheduler(
        config,
        open_store=lambda: open_store(config.database, now=env.clock()),
        clock=env.clock,
        secret=lambda: signing_key(env, config),
        transport=lambda: make_transport(config),
    )
    scheduler.install_signal_handlers()
    if stop_requested:
        scheduler.request_stop()
    scheduler.run_forever()
    return ExitStatus.OK


def cmd_serve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.mail.confirmation import send_confirmation
    from digest.store import open_store
    from digest.web import WebApp, serve

    config = config_from(args, env, sends=True)
    secret = signing_key(env, config)
    with store_for(config, env.clock()):
        pass  # fail at start when the database is unreachable
    app = WebApp(
        config,
        open_store=lambda: open_store(config.database, now=env.clock()),
        secret=secret,
        send_confirmation=lambda store, subscriber, now: send_confirmation(config, subscriber, secret=secret, now=now),
        clock=env.clock,
    )
    if env.is_interactive or args.verbose:
        env.out(f"serving {config.site.dir} and the subscription pages at http://{args.host}:{args.port}/")
        if config.site.url.startswith("https://"):
            env.out(
                f"forms (subscribe, votes, preferences) work at {config.site.url} only, over https: their cookie is"
                " Secure; for a plain-http setup (a LAN host without TLS) set site.url to its http:// address"
            )
    serve(app.application(), host=args.host, port=args.port, header_timeout=config.web.header_timeout.total_seconds())
    return ExitStatus.OK


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    run = command(
        "run",
        cmd_run,
        "One pass, for cron: ingest every pending dump, publish what is new, send what is unsent. "
        "Idempotent; quiet on success without a terminal; exits 4 at once when another run holds the lock.",
        "digest run --config /etc/digest/schedule.yaml",
    )
    run.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")

    command(
        "schedule",
        cmd_schedule,
        "Run the scheduler: poll the inbox and send at the times schedule.yaml sets, until SIGTERM or SIGINT. "
        "Logs one line per job to stderr.",
        "digest schedule --config /etc/digest/schedule.yaml",
    )

    serve = command(
        "serve",
        cmd_serve,
        "Serve the web archive and feeds, and the subscribe, confirm and one-click unsubscribe pages.",
        "digest serve --host 127.0.0.1 --port 8000",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=positive_arg, default=8000, help="port to listen on (default 8000)")
