"""``digest fetch``: bring the configured sources' listings into the inbox."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, rejection_line, store_for
from digest.cli.parsing import CommandFactory, Parser
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.listings.sources import FetchResult


def fetch_line(result: FetchResult) -> str:
    if result.status == "failed":
        return f"fetch {result.name}: {result.reason}; nothing written"
    if result.status == "new":
        return f"fetch {result.name}: new listing {result.path}"
    return f"fetch {result.name}: unchanged"


def cmd_fetch(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Fetch the sources, and ingest what they brought at once (a file digest wrote whole never waits to settle)."""
    from digest.cli.history import ingest_line
    from digest.listings.ingest import ingest_context, ingest_paths
    from digest.listings.sources import fetch_all, fetched_paths

    config = config_from(args, env)
    if not config.sources:
        raise UsageError(
            f"{config.source} lists no sources", hint="add a 'sources:' list with a url and a name for each"
        )
    now = env.clock()
    with store_for(config, now) as store:
        results = fetch_all(store, config, now=now)
        ingested = ingest_paths(store, fetched_paths(results), ingest_context(config, now))
    chatty = env.is_interactive or args.verbose
    for result in results:
        if result.status == "failed":
            env.err(fetch_line(result))
        elif chatty:
            env.out(fetch_line(result))
    for dump in ingested:
        if dump.status == "rejected":
            env.err(rejection_line(dump, config.rejected))
        elif chatty:
            env.out(ingest_line(dump))
    failed = any(result.status == "failed" for result in results) or any(d.status == "rejected" for d in ingested)
    return ExitStatus.PARTIAL if failed else ExitStatus.OK


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    command(
        "fetch",
        cmd_fetch,
        "Fetch every source of schedule.yaml ('sources:') into the inbox, and ingest what is new at once: a new file"
        " for a changed listing, nothing for an unchanged one (conditional GET). 'digest run' and the scheduler"
        " fetch before they ingest; 'digest publish' (or 'digest run') publishes what was fetched.",
        "digest fetch --verbose",
    )
