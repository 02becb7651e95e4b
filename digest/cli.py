"""The command line: thin commands over the library.

``program`` is the program without error handling; ``main`` does all of it,
and is the only place where errors become exit codes and one-line messages.
Heavy modules are imported inside the commands, so ``digest --help`` is fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from digest import __version__
from digest.errors import (
    ConfigError,
    DigestError,
    ExitStatus,
    LockedError,
    UsageError,
)

if TYPE_CHECKING:
    from digest.config import Config
    from digest.models import Digest, Subscriber
    from digest.store import Store

log = logging.getLogger("digest")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Environment:
    """Everything a command touches of the outside world; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], dt.datetime] = _utc_now
    interactive: bool | None = None  # None: ask whether stdout is a terminal

    @property
    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    def out(self, line: str = "") -> None:
        print(line, file=self.stdout)

    def err(self, line: str) -> None:
        print(f"digest: {line}", file=self.stderr)


# -- commands -----------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.ingest import IngestContext, ingest_paths, ingest_pending

    config = _config(args, env)
    now = env.clock()
    context = IngestContext(inbox=config.inbox, timezone=config.timezone, now=now)
    with _store(config, now) as store:
        if args.files:
            results = ingest_paths(store, [Path(name) for name in args.files], context)
        else:
            results = ingest_pending(store, context)
    chatty = env.is_interactive or args.verbose
    for result in results:
        if args.json:
            env.out(json.dumps(result.as_json(), ensure_ascii=False))
        elif result.status == "rejected":
            pass  # reported on stderr below
        elif chatty:
            env.out(f"{result.file}: {result.status}, {result.papers} papers, {result.new} new")
        if result.status == "rejected":
            env.err(f"rejected {result.file}: {result.reason} (set aside in {config.inbox / 'rejected'})")
    if not results and chatty and not args.json:
        env.out("nothing to ingest")
    return ExitStatus.PARTIAL if any(r.status == "rejected" for r in results) else ExitStatus.OK


def cmd_papers(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = _config(args, env)
    with _store(config, env.clock()) as store:
        papers = store.history.papers(since=args.new_since, limit=args.limit)
    for paper in papers:
        if args.json:
            env.out(
                json.dumps(
                    {
                        "id": paper.id,
                        "title": paper.title,
                        "first_seen": paper.first_seen_on.isoformat(),
                        "rank": paper.first_rank,
                        "code": [link.url for link in paper.links if link.kind == "code"],
                        "links": [link.url for link in paper.links],
                        "abstract": paper.abstract,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            code = next((link.url for link in paper.links if link.kind == "code"), "")
            env.out(f"{paper.first_seen_on.isoformat()}  {_clip(paper.title, 90)}" + (f"  [{code}]" if code else ""))
    return ExitStatus.OK


def cmd_status(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.store.migrations import schema_version

    config = _config(args, env)
    with _store(config, env.clock()) as store:
        counts = store.history.counts()
        version = schema_version(store.db)
        published = store.digests.published()
    last_digest = published[0] if published else None
    last = counts.last_dump
    report = {
        "database": _redacted(config.database),
        "schema_version": version,
        "dumps": counts.dumps,
        "rejected": counts.rejected,
        "papers": counts.papers,
        "last_dump": None
        if last is None
        else {
            "file": last.file_name,
            "date": last.dump_date.isoformat(),
            "ingested_at": last.ingested_at.isoformat(),
            "papers": last.paper_count,
            "new": last.new_count,
        },
        "last_digest": None
        if last_digest is None
        else {
            "slug": last_digest.slug,
            "date": last_digest.date.isoformat(),
            "papers": last_digest.paper_count,
            "published_at": last_digest.published_at.isoformat(),
        },
    }
    if args.json:
        env.out(json.dumps(report, ensure_ascii=False))
        return ExitStatus.OK
    env.out(f"database:    {report['database']} (schema version {version})")
    env.out(f"history:     {counts.dumps} dumps, {counts.papers} papers, {counts.rejected} rejected dumps")
    if last is None:
        env.out("last dump:   none yet")
    else:
        env.out(
            f"last dump:   {last.file_name} ({last.dump_date.isoformat()}): {last.paper_count} papers,"
            f" {last.new_count} new; ingested {last.ingested_at:%Y-%m-%d %H:%M} UTC"
        )
    if last_digest is None:
        env.out("last digest: none yet")
    else:
        env.out(
            f"last digest: {last_digest.slug}: {last_digest.paper_count} papers;"
            f" published {last_digest.published_at:%Y-%m-%d %H:%M} UTC ({len(published)} in all)"
        )
    return ExitStatus.OK


def cmd_publish(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.pipeline import publish

    config = _config(args, env)
    now = env.clock()
    with _store(config, now) as store:
        result = publish(store, config, now=now, rebuild=args.rebuild)
    if env.is_interactive or args.verbose:
        if result.digest is None:
            env.out("nothing new since the last digest; archive and feeds refreshed")
        else:
            page = config.site.dir / "archive" / f"{result.digest.slug}.html"
            env.out(f"published {result.digest.slug}: {result.digest.new_count} new papers ({page})")
        env.out(f"{len(result.written)} site files written in {config.site.dir}")
    return ExitStatus.OK


def cmd_preview(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import email
    import email.policy

    from digest.message import ListHeaders, personalise_message, prepare_message
    from digest.pipeline import digest_of_dump, pending_digest, renderer_for

    config = _config(args, env)
    now = env.clock()
    digest: Digest | None
    if args.dump:
        digest = digest_of_dump(Path(args.dump), config=config, now=now)
    else:
        with _store(config, now) as store:
            digest = store.digests.get() or pending_digest(store, now)
        if digest is None:
            raise UsageError("there is no digest to preview yet", hint="run 'digest ingest' first, or use --dump FILE")
    rendered = renderer_for(config).email_message(digest)
    headers = ListHeaders(config.email.list_id, config.site.title, config.email.unsubscribe_mailto)
    data = personalise_message(
        prepare_message(rendered, sender=config.email.sender, date=now, headers=headers),
        recipient="subscriber@example.org",
        message_id=f"preview.{digest.slug}@{config.email.list_id}",
        unsubscribe_url=f"{config.site.url}unsubscribe/preview",
    )
    message = email.message_from_bytes(data, policy=email.policy.default)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert isinstance(html_part, email.message.EmailMessage) and isinstance(text_part, email.message.EmailMessage)
    paths = {
        "html": out / f"digest-{digest.slug}.html",
        "text": out / f"digest-{digest.slug}.txt",
        "eml": out / f"digest-{digest.slug}.eml",
    }
    paths["html"].write_text(html_part.get_content(), encoding="utf-8")
    paths["text"].write_text(text_part.get_content(), encoding="utf-8")
    paths["eml"].write_bytes(data)
    size = len(html_part.get_content().encode("utf-8"))
    env.out(f"subject: {rendered.subject}")
    env.out(f"papers:  {rendered.shown} shown of {digest.new_count}")
    env.out(f"html:    {paths['html']} ({size / 1000:.1f} KB; Gmail clips above 102 KB)")
    env.out(f"text:    {paths['text']}")
    env.out(f"eml:     {paths['eml']}")
    return ExitStatus.OK


def cmd_subscribers_add(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.subscribers import normalise_address, parse_terms

    config = _config(args, env)
    address = normalise_address(args.email)
    now = env.clock()
    secret = _secret(env) if args.pending else None
    with _store(config, now) as store:
        with store.transaction(exclusive=True):
            subscriber, created = store.subscribers.add(
                address,
                status="pending" if args.pending else "active",
                include=parse_terms(args.include),
                exclude=parse_terms(args.exclude),
                now=now,
            )
        if args.pending and subscriber.status == "pending":
            _send_confirmation(config, subscriber, secret, now)
    if env.is_interactive or args.verbose:
        verb = "added" if created else "updated"
        env.out(f"{verb} {subscriber.email} ({subscriber.status})")
    return ExitStatus.OK


def cmd_subscribers_remove(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.errors import DigestError
    from digest.subscribers import normalise_address

    config = _config(args, env)
    address = normalise_address(args.email)
    now = env.clock()
    with _store(config, now) as store:
        subscriber = store.subscribers.by_email(address)
        if subscriber is None:
            raise DigestError(f"{address} is not a subscriber", hint="see 'digest subscribers list'")
        store.subscribers.set_status(subscriber.id, "unsubscribed", now=now)
    if env.is_interactive or args.verbose:
        env.out(f"unsubscribed {address}")
    return ExitStatus.OK


def cmd_subscribers_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = _config(args, env)
    with _store(config, env.clock()) as store:
        for subscriber in store.subscribers.iter_all(status=args.status):
            if args.json:
                env.out(
                    json.dumps(
                        {
                            "email": subscriber.email,
                            "status": subscriber.status,
                            "include": list(subscriber.include),
                            "exclude": list(subscriber.exclude),
                            "bounces": subscriber.bounces,
                            "created_at": subscriber.created_at.isoformat() if subscriber.created_at else None,
                        }
                    )
                )
            else:
                terms = ""
                if subscriber.include:
                    terms += f"  include: {', '.join(subscriber.include)}"
                if subscriber.exclude:
                    terms += f"  exclude: {', '.join(subscriber.exclude)}"
                env.out(f"{subscriber.email:<40} {subscriber.status:<12}{terms}")
    return ExitStatus.OK


def cmd_subscribers_import(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import csv

    from digest.subscribers import AddressError, normalise_address, parse_terms

    config = _config(args, env)
    now = env.clock()
    path = Path(args.file)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    added = updated = bad = 0
    secret = _secret(env) if args.pending else None
    with handle, _store(config, now) as store:
        reader = csv.DictReader(handle)
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        if "email" not in fields:
            raise UsageError(
                f"{path}: the first line must name the columns, with an 'email' column",
                hint="e.g. email,include,exclude",
            )
        reader.fieldnames = fields
        unknown = set(fields) - {"email", "include", "exclude"}
        if unknown:
            raise UsageError(f"{path}: unknown columns {', '.join(sorted(unknown))} (use email, include, exclude)")
        for row in reader:
            line = reader.line_num
            try:
                address = normalise_address(row.get("email") or "")
            except AddressError as exc:
                env.err(f"{path}:{line}: {exc.message}; row skipped")
                bad += 1
                continue
            with store.transaction(exclusive=True):
                subscriber, created = store.subscribers.add(
                    address,
                    status="pending" if args.pending else "active",
                    include=parse_terms(row.get("include")),
                    exclude=parse_terms(row.get("exclude")),
                    now=now,
                )
            if args.pending and subscriber.status == "pending":
                _send_confirmation(config, subscriber, secret, now)
            added += created
            updated += not created
    if env.is_interactive or args.verbose:
        env.out(f"imported {added} new and {updated} known addresses; {bad} rows skipped")
    return ExitStatus.PARTIAL if bad else ExitStatus.OK


def cmd_subscribers_export(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import csv

    config = _config(args, env)
    with _store(config, env.clock()) as store:
        writer = csv.writer(env.stdout, lineterminator="\n")
        writer.writerow(["email", "status", "include", "exclude", "created_at"])
        for subscriber in store.subscribers.iter_all(status=args.status):
            writer.writerow(
                [
                    subscriber.email,
                    subscriber.status,
                    ", ".join(subscriber.include),
                    ", ".join(subscriber.exclude),
                    subscriber.created_at.isoformat() if subscriber.created_at else "",
                ]
            )
    return ExitStatus.OK


def cmd_send(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal
    import threading

    from digest.deliver import make_transport, send_digest

    config = _config(args, env)
    now = env.clock()
    with _store(config, now) as store:
        digest = store.digests.get(args.digest)
        if digest is None:
            which = f"digest {args.digest}" if args.digest else "a published digest"
            raise UsageError(f"there is no {which} to send", hint="run 'digest publish' first")
        if args.dry_run:
            return _send_dry_run(store, config, digest, env)
        secret = _secret(env)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        progress = _progress_line(env) if env.is_interactive else None
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
    for error in report.errors:
        env.err(f"not delivered: {error}")
    if env.is_interactive or args.verbose:
        env.out(
            f"digest {digest.slug}: {report.sent} sent, {report.failed} failed, {report.deferred} to retry later,"
            f" {report.skipped} skipped by filters" + (" (stopped early)" if report.stopped else "")
        )
    return ExitStatus.PARTIAL if report.problems else ExitStatus.OK


def cmd_run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal
    import threading

    from digest.deliver import make_transport
    from digest.lock import run_lock
    from digest.pipeline import plan_run, run_once

    config = _config(args, env)
    now = env.clock()
    if args.dry_run:
        with _store(config, now) as store:
            plan = plan_run(store, config, now=now)
        for name, action, new in plan.dumps:
            env.out(f"would {action if action != 'ingest' else f'ingest ({new} new papers)'}: {name}")
        env.out(f"would publish a digest of {plan.new_papers} papers" if plan.new_papers else "nothing new to publish")
        env.out(
            f"would send {plan.digests_to_send} digest(s) to up to {plan.active_subscribers} active subscribers"
            if plan.digests_to_send and plan.active_subscribers
            else "nothing to send"
        )
        return ExitStatus.OK
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with run_lock(config.database), _store(config, now) as store:
            report = run_once(
                store,
                config,
                clock=env.clock,
                secret=lambda: _secret(env),
                transport=lambda: make_transport(config),
                stop=stop,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for result in report.rejected:
        env.err(f"rejected {result.file}: {result.reason} (set aside in {config.inbox / 'rejected'})")
    for send in report.sends:
        for error in send.errors:
            env.err(f"not delivered: {error}")
    if args.verbose or (env.is_interactive and report.did_anything):
        if not report.did_anything:
            env.out("nothing to do: no new dump, nothing new to publish, nothing left to send")
        for result in report.ingested:
            if result.status != "rejected":
                env.out(f"{result.file}: {result.status}, {result.papers} papers, {result.new} new")
        if report.digest is not None:
            env.out(f"published {report.digest.slug}: {report.digest.new_count} new papers")
        for send in report.sends:
            env.out(
                f"digest {send.digest_id}: {send.sent} sent, {send.failed} failed, {send.deferred} to retry"
                f" later, {send.skipped} skipped by filters"
            )
    return ExitStatus.PARTIAL if report.problems else ExitStatus.OK


def cmd_schedule(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import signal

    from digest.deliver import make_transport
    from digest.schedule import DigestScheduler
    from digest.store import open_store

    stop_requested: list[object] = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop_requested.append(True))
    config = _config(args, env)
    with _store(config, env.clock()):
        pass  # fail at start, not at the first job, when the database is unreachable
    logging.getLogger("digest").setLevel(logging.DEBUG if args.debug else logging.INFO)
    scheduler = DigestScheduler(
        config,
        open_store=lambda: open_store(config.database, now=env.clock()),
        clock=env.clock,
        secret=lambda: _secret(env),
        transport=lambda: make_transport(config),
    )
    scheduler.install_signal_handlers()
    if stop_requested:
        scheduler.request_stop()
    scheduler.run_forever()
    return ExitStatus.OK


def cmd_serve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.deliver import send_confirmation
    from digest.store import open_store
    from digest.web import WebApp, serve

    config = _config(args, env)
    secret = _secret(env)
    with _store(config, env.clock()):
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
    serve(app.application(), host=args.host, port=args.port)
    return ExitStatus.OK


def _send_dry_run(store: Store, config: Config, digest: Digest, env: Environment) -> ExitStatus:
    from digest.subscribers import filter_papers

    counts = store.ledger.counts(digest.id or 0)
    would = skipped = 0
    for subscriber in store.subscribers.iter_all(status="active"):
        if filter_papers(digest.papers, subscriber.include, subscriber.exclude):
            would += 1
        else:
            skipped += 1
    env.out(
        f"digest {digest.slug} ({digest.new_count} papers): {counts.sent} already sent;"
        f" would send to at most {max(would - counts.sent, 0)} active subscribers,"
        f" {skipped} skipped by their filters; transport:"
        f" {'SMTP' if config.delivery.smtp_url else f'outbox {config.delivery.outbox}'}"
    )
    return ExitStatus.OK


def cmd_deliveries(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = _config(args, env)
    with _store(config, env.clock()) as store:
        digest = store.digests.get(args.digest)
        if digest is None or digest.id is None:
            raise UsageError("there is no published digest yet", hint="run 'digest publish' first")
        counts = store.ledger.counts(digest.id)
        failures = store.ledger.failures(digest.id)
    if args.json:
        env.out(
            json.dumps(
                {
                    "digest": digest.slug,
                    **dataclasses.asdict(counts),
                    "failures": [{"email": e, "error": r, "attempts": a} for e, r, a in failures],
                }
            )
        )
        return ExitStatus.OK
    env.out(
        f"digest {digest.slug}: {counts.sent} sent, {counts.failed} failed, {counts.queued} queued,"
        f" {counts.sending} sending, {counts.skipped} skipped"
    )
    for address, error, attempts in failures:
        env.out(f"  {address}: {error} ({attempts} attempts)")
    return ExitStatus.OK


def _secret(env: Environment) -> bytes:
    from digest.tokens import secret_key

    return secret_key(dict(env.environ))


def _send_confirmation(config: Config, subscriber: Subscriber, secret: bytes | None, now: dt.datetime) -> None:
    from digest.deliver import send_confirmation

    assert secret is not None
    send_confirmation(config, subscriber, secret=secret, now=now)


def _progress_line(env: Environment) -> Callable[..., None]:
    def show(report: object, total: int) -> None:
        from digest.deliver import SendReport

        assert isinstance(report, SendReport)
        done = report.sent + report.failed + report.deferred + report.skipped
        env.stderr.write(f"\rsending: {done}/{total}  ({report.sent} sent, {report.problems} problems)")
        env.stderr.flush()

    return show


# -- helpers ------------------------------------------------------------------------------


def _config(args: argparse.Namespace, env: Environment) -> Config:
    from digest.config import load_config

    path = args.config or env.environ.get("DIGEST_CONFIG") or "schedule.yaml"
    return load_config(Path(path), env.environ)


def _store(config: Config, now: dt.datetime) -> Store:
    from digest.store import open_store

    return open_store(config.database, now=now)


def _redacted(url: str) -> str:
    from digest.store.backend import redact

    return redact(url)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


# -- the parser ---------------------------------------------------------------------------

EXIT_CODES = """exit status:
  0  success
  1  failure: the command could not do its work
  2  usage or configuration error
  3  finished, but something was rejected or failed (see stderr)
  4  another digest run holds the lock; nothing was done"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the configuration file (default: $DIGEST_CONFIG, else ./schedule.yaml)",
    )
    group.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="say what is done")
    group.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="log everything; show tracebacks"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog="digest",
        description="A daily digest of trending research papers: ingest listing dumps, "
        "find the papers nobody has been sent yet, publish them by email, RSS and a web archive.",
        epilog=EXIT_CODES + "\n\nexample:\n  digest ingest && digest status",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Callable[..., ExitStatus], summary: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        sub.set_defaults(handler=handler)
        return sub

    ingest = command(
        "ingest",
        cmd_ingest,
        "Read new dumps into the history and report their new papers. Without FILE, every "
        "pending dump of the inbox is read, oldest first; bad dumps are set aside in inbox/rejected/.",
        "digest ingest --json inbox/2026-03-12.txt",
    )
    ingest.add_argument("files", nargs="*", metavar="FILE", help="dump files to ingest, in this order")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per dump per line")

    papers = command(
        "papers",
        cmd_papers,
        "List papers of the history, most recently seen first.",
        "digest papers --new-since 2026-03-01 --json",
    )
    papers.add_argument("--new-since", type=_date, metavar="DATE", help="only papers first seen on or after DATE")
    papers.add_argument("--limit", type=_positive, default=50, metavar="N", help="at most N papers (default 50)")
    papers.add_argument("--json", action="store_true", help="print one JSON object per paper per line")

    publish = command(
        "publish",
        cmd_publish,
        "Record the digest of everything new since the last one (if anything is new), then write or "
        "refresh the web archive and the feeds in site.dir.",
        "digest publish --verbose",
    )
    publish.add_argument("--rebuild", action="store_true", help="render every archive page again")

    preview = command(
        "preview",
        cmd_preview,
        "Write the digest email as .html, .txt and a complete .eml, and tell the HTML's size. "
        "By default the latest digest (or the one the next publish would send).",
        "digest preview --dump inbox/2026-03-12.txt --out preview/",
    )
    source = preview.add_mutually_exclusive_group()
    source.add_argument("--dump", metavar="FILE", help="preview one dump file, every paper as new")
    source.add_argument("--latest", action="store_true", help="preview the latest digest (the default)")
    preview.add_argument("--out", metavar="DIR", default="preview", help="where to write (default ./preview)")

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
    serve.add_argument("--port", type=_positive, default=8000, help="port to listen on (default 8000)")

    subscribers = command(
        "subscribers",
        lambda args, env: ExitStatus.USAGE,
        "Manage subscribers: add, remove, list, import, export.",
        "digest subscribers add reader@example.org --include 'diffusion, robotics'",
    )
    actions = subscribers.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)

    def action(name: str, handler: Callable[..., ExitStatus], summary: str, example: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        sub.set_defaults(handler=handler)
        return sub

    add = action(
        "add",
        cmd_subscribers_add,
        "Add a subscriber (active at once; --pending mails a confirmation link).",
        "digest subscribers add reader@example.org --exclude 'quantum'",
    )
    add.add_argument("email", help="one bare address")
    add.add_argument("--include", metavar="TERMS", help="only papers matching one of these comma-separated terms")
    add.add_argument("--exclude", metavar="TERMS", help="leave out papers matching any of these terms")
    add.add_argument("--pending", action="store_true", help="send a confirmation mail instead of activating")
    remove = action(
        "remove",
        cmd_subscribers_remove,
        "Unsubscribe an address (its record is kept).",
        "digest subscribers remove reader@example.org",
    )
    remove.add_argument("email")
    listing = action("list", cmd_subscribers_list, "List subscribers.", "digest subscribers list --status active")
    listing.add_argument("--status", choices=["pending", "active", "unsubscribed", "bounced"])
    listing.add_argument("--json", action="store_true", help="print one JSON object per subscriber per line")
    importing = action(
        "import",
        cmd_subscribers_import,
        "Import subscribers from CSV (columns: email, and optionally include, exclude). "
        "Bad rows are reported with their line and skipped.",
        "digest subscribers import readers.csv",
    )
    importing.add_argument("file", metavar="FILE.csv")
    importing.add_argument("--pending", action="store_true", help="mail confirmation links instead of activating")
    exporting = action(
        "export",
        cmd_subscribers_export,
        "Write subscribers as CSV to standard output.",
        "digest subscribers export --status active > readers.csv",
    )
    exporting.add_argument("--status", choices=["pending", "active", "unsubscribed", "bounced"])

    send = command(
        "send",
        cmd_send,
        "Send a digest to every active subscriber who has not had it (default: the latest published one). "
        "Re-running resumes; nothing accepted by the server is sent twice. Uses DIGEST_SMTP_URL, else the outbox.",
        "DIGEST_SMTP_URL=smtp://localhost:25 digest send",
    )
    send.add_argument("--digest", type=_positive, metavar="ID", help="the digest to send (default: the latest)")
    send.add_argument("--dry-run", action="store_true", help="say what would be sent; send nothing")

    deliveries = command(
        "deliveries",
        cmd_deliveries,
        "Show a digest's deliveries: counts by status and the failures with their reasons.",
        "digest deliveries --json",
    )
    deliveries.add_argument("--digest", type=_positive, metavar="ID", help="default: the latest digest")
    deliveries.add_argument("--json", action="store_true", help="print one JSON object")

    status = command(
        "status",
        cmd_status,
        "Show the history's counts, the last dump and the last digest.",
        "digest status --json",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def program(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """The program without error handling."""
    handler: Callable[[argparse.Namespace, Environment], ExitStatus] = args.handler
    return handler(args, env)


def _configure_logging(args: argparse.Namespace, env: Environment) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(logging.Formatter("digest: %(message)s"))
    root = logging.getLogger("digest")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run one command; return its exit status. Errors become one line on stderr."""
    env = env or Environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            with contextlib.redirect_stdout(env.stdout):
                args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help and --version
            return int(exit_.code or 0)
        for option in ("config", "verbose", "debug"):
            if not hasattr(args, option):
                setattr(args, option, None if option == "config" else False)
        if getattr(args, "handler", None) is None:
            parser.print_help(env.stdout)
            return ExitStatus.USAGE
        _configure_logging(args, env)
        return int(program(args, env))
    except KeyboardInterrupt:
        env.err("interrupted")
        return ExitStatus.FAILURE
    except DigestError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        env.err(f"error: {exc.one_line()}")
        return _exit_status(exc)
    except Exception as exc:  # noqa: BLE001 - the one place that turns any error into a line
        if debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        else:
            env.err(f"error: unexpected {type(exc).__name__}: {exc} (run again with --debug for details)")
        return ExitStatus.FAILURE


def _exit_status(exc: DigestError) -> ExitStatus:
    if isinstance(exc, UsageError | ConfigError):
        return ExitStatus.USAGE
    if isinstance(exc, LockedError):
        return ExitStatus.LOCKED
    return ExitStatus.FAILURE
