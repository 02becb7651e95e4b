"""Commands over the history: ingest, papers, status."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.cli.env import Environment, clip, config_from, counted, redacted, rejection_line, store_for
from digest.cli.parsing import CommandFactory, Parser, date_arg, positive_arg
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.config import Config
    from digest.models import IngestResult
    from digest.store import Store


def cmd_ingest(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.listings.ingest import ingest_context, ingest_paths, ingest_pending

    config = config_from(args, env)
    paths = [Path(name) for name in args.files]
    for path in paths:  # a typo is a usage error, not a rejected dump: nothing could be set aside
        if not path.is_file():
            problem = "is a folder, not a dump file" if path.is_dir() else "does not exist"
            hint = "name existing dump files, or none to ingest the inbox's pending dumps"
            raise UsageError(f"{path} {problem}", hint=hint)
    now = env.clock()
    context = ingest_context(config, now)
    with store_for(config, now) as store:
        if paths:
            results = ingest_paths(store, paths, context)
        else:
            results = ingest_pending(store, context)
    chatty = env.is_interactive or args.verbose
    for result in results:
        if args.json:
            env.out(json.dumps(result.as_json(), ensure_ascii=False))
        elif result.status == "rejected":
            pass  # reported on stderr below
        elif chatty:
            env.out(ingest_line(result))
        if result.status == "rejected":
            env.err(rejection_line(result, config.rejected))
    if not results and chatty and not args.json:
        env.out("nothing to ingest")
    return ExitStatus.PARTIAL if any(r.status == "rejected" for r in results) else ExitStatus.OK


def cmd_papers(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        papers = store.history.papers(since=args.new_since, limit=args.limit)
        published = published_under(store, [paper.id for paper in papers]) if args.json else {}
    for paper in papers:
        if args.json:
            from digest.ranking.summarise import summary

            short = summary(paper.title, paper.abstract, paper.details.summary)
            slug, topic = published.get(paper.id, (None, None))
            env.out(
                json.dumps(
                    {
                        "id": paper.id,
                        "title": paper.title,
                        "first_seen": paper.first_seen_on.isoformat(),
                        "rank": paper.first_rank,
                        "arxiv_id": paper.details.arxiv_id,
                        "url": paper.details.abs_url,
                        "pdf_url": paper.details.pdf_url,
                        "authors": list(paper.details.authors),
                        "upvotes": paper.details.upvotes,
                        "code": [link.url for link in paper.links if link.kind == "code"],
                        "links": [link.url for link in paper.links],
                        "abstract": paper.abstract,
                        "tldr": short.text,
                        "tldr_source": short.source,
                        "digest": slug,
                        "topic": topic,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            code = next((link.url for link in paper.links if link.kind == "code"), "")
            env.out(f"{paper.first_seen_on.isoformat()}  {clip(paper.title, 90)}" + (f"  [{code}]" if code else ""))
    return ExitStatus.OK


def published_under(store: Store, paper_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """For each paper a digest holds: that digest's slug and the topic heading it was published under."""
    where = store.digests.published_under(paper_ids)
    headings: dict[int, dict[int, str]] = {}
    for digest_id in sorted({digest_id for digest_id, _, _ in where.values()}):
        topics = store.digests.topics(digest_id) or []
        headings[digest_id] = {index: topic.label for topic in topics for index in topic.members}
    return {paper: (slug, headings[digest].get(index)) for paper, (digest, slug, index) in where.items()}


def cmd_status(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.store.migrations import schema_version

    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        counts = store.history.counts()
        version = schema_version(store.db)
        published = store.digests.published()
        states = {state.name: state for state in store.sources.all()}
        weekly = weekly_status(store, config, env.clock())
        returned = store.returned.counts(digest_id=published[0].id) if published else None
    sources = [
        {
            "name": source.name,
            "url": source.url,
            "last_success_at": _iso(states[source.name].last_success_at) if source.name in states else None,
            "last_error": states[source.name].last_error if source.name in states else None,
            "last_error_at": _iso(states[source.name].last_error_at) if source.name in states else None,
        }
        for source in config.sources
    ]
    last_digest = published[0] if published else None
    last = counts.last_dump
    report = {
        "database": redacted(config.database),
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
            "returned": {"bounces": returned.bounces, "complaints": returned.complaints} if returned else None,
        },
        "sources": sources,
        "weekly": weekly,
    }
    if args.json:
        env.out(json.dumps(report, ensure_ascii=False))
        return ExitStatus.OK
    env.out(f"database:    {report['database']} (schema version {version})")
    env.out(
        f"history:     {counted(counts.dumps, 'dump')}, {counted(counts.papers, 'paper')},"
        f" {counted(counts.rejected, 'rejected dump')}"
    )
    if last is None:
        env.out("last dump:   none yet")
    else:
        env.out(
            f"last dump:   {last.file_name} ({last.dump_date.isoformat()}): {counted(last.paper_count, 'paper')},"
            f" {last.new_count} new; ingested {last.ingested_at:%Y-%m-%d %H:%M} UTC"
        )
    if last_digest is None:
        env.out("last digest: none yet")
    else:
        env.out(
            f"last digest: {last_digest.slug}: {counted(last_digest.paper_count, 'paper')};"
            f" published {last_digest.published_at:%Y-%m-%d %H:%M} UTC ({len(published)} in all)"
            + (f"; returned: {returned.bounces} bounces, {returned.complaints} complaints" if returned else "")
        )
    last_week = weekly["last_week"]
    env.out(
        f"weekly:      {weekly['when']} ({config.timezone.key}), next"
        f" {dt.datetime.fromisoformat(weekly['next']).astimezone(config.timezone):%Y-%m-%d %H:%M %Z}"
        + (" (due now: the next run queues it)" if weekly["due_now"] else "")
        + ";"
        f" {weekly['readers']} weekly reader(s)"
        + (
            f"; week {last_week['week']}: {last_week['sent']} sent, {last_week['open']} to send;"
            f" returned: {last_week['returned']['bounces']} bounces, {last_week['returned']['complaints']} complaints"
            if last_week
            else ""
        )
    )
    for row in sources:
        success = row["last_success_at"] or "never"
        error = f"; last error {row['last_error_at']}: {row['last_error']}" if row["last_error"] else ""
        env.out(f"source:      {row['name']} ({row['url']}): last success {success}{error}")
    return ExitStatus.OK


def weekly_status(store: Store, config: Config, now: dt.datetime) -> dict[str, Any]:
    """When weekly mails go, to how many readers, and how the last week's went.

    A week whose time has come and whose mails a run would still queue (within the misfire grace) is the next
    one, due now, as ``run --dry-run`` says: not the week after.
    """
    from digest.mail.weekly import waiting_weekly_readers
    from digest.weekly import next_week_due, week_due

    due_now = waiting_weekly_readers(store, config, now) > 0
    _, due = (week_due if due_now else next_week_due)(config.schedule.weekly, config.timezone, now)
    weeks = store.weeks.all()
    last_week = None
    if weeks:
        counts = store.weeks.counts(weeks[0].week)
        returned = store.returned.counts(week=weeks[0].week)
        last_week = {
            "week": weeks[0].week.isoformat(),
            "sent": counts.sent,
            "open": counts.open,
            "returned": {"bounces": returned.bounces, "complaints": returned.complaints},
        }
    return {
        "when": str(config.schedule.weekly),
        "next": due.isoformat(),
        "due_now": due_now,
        "readers": store.subscribers.count_weekly(),
        "last_week": last_week,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
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
    papers.add_argument("--new-since", type=date_arg, metavar="DATE", help="only papers first seen on or after DATE")
    papers.add_argument("--limit", type=positive_arg, default=50, metavar="N", help="at most N papers (default 50)")
    papers.add_argument("--json", action="store_true", help="print one JSON object per paper per line")

    status = command(
        "status",
        cmd_status,
        "Show the history's counts, the last dump and the last digest.",
        "digest status --json",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")


def ingest_line(result: IngestResult) -> str:
    """ "today.txt: ingested, 1 paper, 1 new" (what a terminal is told of one dump); a dump that waits says why."""
    if result.status == "waiting":
        return f"{result.file}: waits to settle: {result.reason}"
    return f"{result.file}: {result.status}, {counted(result.papers, 'paper')}, {result.new} new"
