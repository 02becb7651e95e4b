"""``digest fetch``: bring the configured sources' listings into the inbox."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, store_for
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
    from digest.listings.sources import fetch_all

    config = config_from(args, env)
    if not config.sources:
        raise UsageError(
            f"{config.source} lists no sources", hint="add a 'sources:' list with a url and a name for each"
        )
    now = env.clock()
    with store_for(config, now) as store:
        results = fetch_all(store, config, now=now)
    for result in results:
        if result.status == "failed":
            env.err(fetch_line(result))
        elif env.is_interactive or args.verbose:
            env.out(fetch_line(result))
    return ExitStatus.PARTIAL if any(result.status == "failed" for result in results) else ExitStatus.OK


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    command(
        "fetch",
        cmd_fetch,
        "Fetch every source of schedule.yaml ('sources:') into the inbox: a new file for a changed listing, "
        "nothing for an unchanged one (conditional GET). 'digest run' and the scheduler fetch before they ingest.",
        "digest fetch --verbose",
    )
