"""Commands about subscribers: add, remove, list, import, export."""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, send_confirmation_to, signing_key, store_for
from digest.cli.follows import register_follow_actions
from digest.cli.parsing import CommandFactory, Parser, add_command
from digest.cli.profiles import register_actions
from digest.cli.subscriber_csv import cmd_subscribers_export, cmd_subscribers_import
from digest.errors import ExitStatus

if TYPE_CHECKING:
    from digest.models import Subscriber


def cmd_subscribers_add(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.subscribers import checked_terms, normalise_address

    config = config_from(args, env)
    address = normalise_address(args.email)
    include, exclude = checked_terms(args.include, "--include"), checked_terms(args.exclude, "--exclude")
    interests = checked_terms(args.interests, "--interests") if args.interests is not None else None
    now = env.clock()
    secret = signing_key(env, config) if args.pending else None
    with store_for(config, now) as store:
        with store.transaction(exclusive=True):
            subscriber, created = store.subscribers.add(
                address,
                status="pending" if args.pending else "active",
                include=include,
                exclude=exclude,
                now=now,
            )
            store.profiles.update(subscriber.id, interests=interests, frequency=args.frequency)
        if args.pending and subscriber.status == "pending":
            send_confirmation_to(config, subscriber, secret, now)
    if env.is_interactive or args.verbose:
        verb = "added" if created else "updated"
        env.out(f"{verb} {subscriber.email} ({subscriber.status})")
    return ExitStatus.OK


def cmd_subscribers_remove(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.errors import DigestError
    from digest.subscribers import normalise_address

    config = config_from(args, env)
    address = normalise_address(args.email)
    now = env.clock()
    with store_for(config, now) as store:
        subscriber = store.subscribers.by_email(address)
        if subscriber is None:
            raise DigestError(f"{address} is not a subscriber", hint="see 'digest subscribers list'")
        store.subscribers.set_status(subscriber.id, "unsubscribed", now=now)
    if env.is_interactive or args.verbose:
        env.out(f"unsubscribed {address}")
    return ExitStatus.OK


def cmd_subscribers_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.cli.profiles import summaries

    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        for batch in _batches(store.subscribers.iter_all(status=args.status), 500):
            follows = store.follows.for_subscribers(subscriber.id for subscriber in batch)
            _list_batch(batch, summaries(store, batch, follows), follows, args, env)
    return ExitStatus.OK


def _batches(items: Iterable[Subscriber], size: int) -> Iterator[list[Subscriber]]:
    batch: list[Subscriber] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _list_batch(
    batch: list[Subscriber],
    profiles: dict[int, str],
    follows: dict[int, tuple[str, ...]],
    args: argparse.Namespace,
    env: Environment,
) -> None:
    for subscriber in batch:
        if args.json:
            env.out(
                json.dumps(
                    {
                        "email": subscriber.email,
                        "status": subscriber.status,
                        "include": list(subscriber.include),
                        "exclude": list(subscriber.exclude),
                        "bounces": subscriber.bounces,
                        "interests": list(subscriber.interests),
                        "follows": list(follows.get(subscriber.id, ())),
                        "frequency": subscriber.frequency,
                        "profile": profiles[subscriber.id],
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
            env.out(f"{subscriber.email:<40} {subscriber.status:<12}{terms}  [{profiles[subscriber.id]}]")


def register(command: CommandFactory, common: Parser) -> None:
    """Add this module's commands to the parser."""
    subscribers = command(
        "subscribers",
        lambda args, env: ExitStatus.USAGE,
        "Manage subscribers and their profiles: add, remove, list, set, like, dislike, votes, unvote, follow,"
        " unfollow, suggest, import, export.",
        "digest subscribers add reader@example.org --include 'diffusion, robotics'",
    )
    actions = subscribers.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser, required=True)

    action = functools.partial(add_command, actions, common)

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
    add.add_argument("--interests", metavar="TERMS", help="soft interest terms: they rank papers, never filter them")
    add.add_argument("--frequency", choices=["daily", "weekly"], help="how often they get mail (default: daily)")
    remove = action(
        "remove",
        cmd_subscribers_remove,
        "Unsubscribe an address (its record is kept).",
        "digest subscribers remove reader@example.org",
    )
    remove.add_argument("email")
    listing = action(
        "list",
        cmd_subscribers_list,
        "List subscribers with their status and interest filters, in the order they joined.",
        "digest subscribers list --status active",
    )
    listing.add_argument("--status", choices=["pending", "active", "unsubscribed", "bounced"])
    listing.add_argument("--json", action="store_true", help="print one JSON object per subscriber per line")
    importing = action(
        "import",
        cmd_subscribers_import,
        "Import subscribers from CSV (columns: email, and optionally include, exclude, interests, frequency,"
        " likes, dislikes: one paper a line inside the cell, follows: one author a line; status and created_at"
        " are accepted as exported)."
        " Bad rows are reported with their line and skipped.",
        "digest subscribers import readers.csv",
    )
    importing.add_argument("file", metavar="FILE.csv")
    importing.add_argument("--pending", action="store_true", help="mail confirmation links instead of activating")
    exporting = action(
        "export",
        cmd_subscribers_export,
        "Write subscribers and their profiles as CSV to standard output (what 'import' reads back).",
        "digest subscribers export --status active > readers.csv",
    )
    exporting.add_argument("--status", choices=["pending", "active", "unsubscribed", "bounced"])
    register_actions(action)
    register_follow_actions(action)
