"""Commands that send a digest and report on its deliveries."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, counted, send_problem_lines, signing_key, store_for
from digest.cli.parsing import CommandFactory, Parser, date_arg, digest_arg
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.config import Config
    from digest.models import Digest
    from digest.store import Store
    from digest.store.returns import Returned, ReturnedCounts


def cmd_send(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal
    import threading

    from digest.mail.deliver import send_digest
    from digest.mail.mailer import make_transport

    config = config_from(args, env, sends=True)
    now = env.clock()
    with store_for(config, now) as store:
        digest = store.digests.named(args.digest)
        if digest is None:
            which = f"digest {args.digest}" if args.digest not in (None, "latest") else "a published digest"
            raise UsageError(f"there is no {which} to send", hint="see 'digest status', or run 'digest publish' first")
        if args.dry_run:
            return send_dry_run(store, config, digest, env)
        secret = signing_key(env, config)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        progress = progress_line(env) if env.is_interactive else None
        try:
            report = send_digest(
                store,
                config,
                digest,
                transport=make_transport(config),
                secret=secret,
                clock=env.clock,
                stop=stop,
                progress=progress,
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if progress is not None:
            env.stderr.write("\n")
    for line in send_problem_lines(report):
        env.err(line)
    if env.is_interactive or args.verbose:
        uncertain = f", {report.uncertain} uncertain" if report.uncertain else ""
        env.out(
            f"digest {digest.slug}: {report.sent} sent, {report.failed} failed, {report.deferred} to retry later,"
            f" {report.skipped} skipped by filters{uncertain}, {report.left} left"
            + (" (stopped early)" if report.stopped or report.halted else "")
        )
    return ExitStatus.PARTIAL if report.problems or report.work_left else ExitStatus.OK


def send_dry_run(store: Store, config: Config, digest: Digest, env: Environment) -> ExitStatus:
    from digest.ranking.filters import filter_papers

    counts = store.ledger.counts(digest.id or 0)
    would = skipped = weekly = 0
    for subscriber in store.subscribers.iter_all(status="active"):
        if subscriber.frequency == "weekly":
            weekly += 1
        elif filter_papers(digest.papers, subscriber.include, subscriber.exclude):
            would += 1
        else:
            skipped += 1
    env.out(
        f"digest {digest.slug} ({counted(digest.new_count, 'paper')}): {counts.sent} already sent;"
        f" would send to at most {max(would - counts.sent, 0)} active subscribers,"
        f" {skipped} skipped by their filters"
        + (f", {weekly} weekly readers wait for their week" if weekly else "")
        + "; transport:"
        f" {'SMTP' if config.delivery.smtp_url else f'outbox {config.delivery.outbox}'}"
    )
    return ExitStatus.OK


def cmd_deliveries(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = config_from(args, env)
    if args.week is not None:
        return week_deliveries(args, env, config)
    with store_for(config, env.clock()) as store:
        digest = store.digests.named(args.digest)
        if digest is None or digest.id is None:
            which = f"digest {args.digest}" if args.digest not in (None, "latest") else "published digest yet"
            raise UsageError(f"there is no {which}", hint="see 'digest status', or run 'digest publish' first")
        counts = store.ledger.counts(digest.id)
        failures = store.ledger.failures(digest.id)
        returned = store.returned.counts(digest_id=digest.id), store.returned.listed(digest_id=digest.id)
    if args.json:
        env.out(
            json.dumps(
                {
                    "digest": digest.slug,
                    **dataclasses.asdict(counts),
                    "failures": [{"email": e, "error": r, "attempts": a} for e, r, a in failures],
                    **returned_json(*returned),
                }
            )
        )
        return ExitStatus.OK
    env.out(
        f"digest {digest.slug}: {counts.sent} sent ({counts.uncertain} uncertain), {counts.failed} failed,"
        f" {counts.queued} queued, {counts.sending} sending, {counts.skipped} skipped"
        + (f", {counts.held} held for weekly mails" if counts.held else "")
    )
    for address, error, attempts in failures:
        env.out(f"  {address}: {error} ({counted(attempts, 'attempt')})")
    returned_lines(env, *returned)
    return ExitStatus.OK


def returned_json(counts: ReturnedCounts, listed: list[Returned]) -> dict[str, object]:
    """What came back after sending: counts by kind and each bounce or complaint."""
    return {
        "returned": dataclasses.asdict(counts),
        "returned_mail": [
            {"email": r.email, "kind": r.kind, "detail": r.detail, "received_at": r.received_at.isoformat()}
            for r in listed
        ],
    }


def returned_lines(env: Environment, counts: ReturnedCounts, listed: list[Returned]) -> None:
    if not listed:
        return
    env.out(
        f"returned: {counts.bounces} bounces ({counts.gone} of mailboxes that do not exist),"
        f" {counts.temporary} delays, {counts.complaints} complaints"
    )
    for item in listed:
        env.out(f"  {item.email}: {item.kind}: {item.detail} ({item.received_at:%Y-%m-%d %H:%M} UTC)")


def week_deliveries(args: argparse.Namespace, env: Environment, config: Config) -> ExitStatus:
    """A week's weekly mails: counts by status and the failures."""
    with store_for(config, env.clock()) as store:
        if store.weeks.get(args.week) is None:
            raise UsageError(
                f"no weekly mails were queued for the week of {args.week.isoformat()}",
                hint="a week is named by its send day, e.g. a Monday; 'digest status' shows the last one",
            )
        counts = store.weeks.counts(args.week)
        failures = store.weeks.failures(args.week)
        returned = store.returned.counts(week=args.week), store.returned.listed(week=args.week)
    if args.json:
        failed = [{"email": e, "error": r, "attempts": a} for e, r, a in failures]
        env.out(
            json.dumps(
                {
                    "week": args.week.isoformat(),
                    **dataclasses.asdict(counts),
                    "failures": failed,
                    **returned_json(*returned),
                }
            )
        )
        return ExitStatus.OK
    env.out(
        f"week {args.week.isoformat()}: {counts.sent} sent ({counts.uncertain} uncertain), {counts.failed} failed,"
        f" {counts.queued} queued, {counts.sending} sending, {counts.skipped} skipped"
    )
    for address, error, attempts in failures:
        env.out(f"  {address}: {error} ({counted(attempts, 'attempt')})")
    returned_lines(env, *returned)
    return ExitStatus.OK


def progress_line(env: Environment) -> Callable[..., None]:
    def show(report: object, total: int) -> None:
        from digest.mail.report import SendReport

        assert isinstance(report, SendReport)
        done = report.sent + report.failed + report.deferred + report.skipped
        env.stderr.write(f"\rsending: {done}/{total}  ({report.sent} sent, {report.problems} problems)")
        env.stderr.flush()

    return show


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    send = command(
        "send",
        cmd_send,
        "Send a digest to every active subscriber who has not had it (default: the latest published one). "
        "Re-running resumes; nothing accepted by the server is sent twice. Uses DIGEST_SMTP_URL, else the outbox.",
        "DIGEST_SMTP_URL=smtp://localhost:25 digest send",
    )
    send.add_argument(
        "--digest", type=digest_arg, metavar="DATE", help="the digest to send: its date, 'latest' (default) or number"
    )
    send.add_argument("--dry-run", action="store_true", help="say what would be sent; send nothing")

    deliveries = command(
        "deliveries",
        cmd_deliveries,
        "Show a digest's deliveries: counts by status and the failures with their reasons.",
        "digest deliveries --json",
    )
    which = deliveries.add_mutually_exclusive_group()
    which.add_argument(
        "--digest", type=digest_arg, metavar="DATE", help="the digest: its date, 'latest' (default) or number"
    )
    which.add_argument("--week", type=date_arg, metavar="DATE", help="a week's weekly mails: its send day")
    deliveries.add_argument("--json", action="store_true", help="print one JSON object")
