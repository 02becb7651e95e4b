"""Commands about the authors a subscriber follows, and the interest terms their likes suggest."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from digest.cli.env import Environment, config_from, counted, store_for
from digest.cli.profiles import find_subscriber
from digest.errors import ExitStatus, UsageError

Action = Callable[[str, Callable[..., ExitStatus], str, str], argparse.ArgumentParser]


def cmd_subscribers_follow(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.names import checked_follows

    names = checked_follows(args.names)
    if not names:
        raise UsageError(
            "no name given", hint="name authors as arguments: digest subscribers follow EMAIL 'A. Vaswani'"
        )
    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        with store.transaction(exclusive=True):
            fresh = store.follows.add(subscriber.id, names, now=env.clock())
        followed = store.follows.of(subscriber.id)
    # Said with or without a terminal, as for likes: what the reader now follows is the command's answer.
    env.out(
        f"{subscriber.email}: {counted(len(fresh), 'author')} newly followed;"
        f" follows {counted(len(followed), 'author')}: {_names(followed)}"
    )
    return ExitStatus.OK


def cmd_subscribers_unfollow(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.names import checked_name

    names = [checked_name(name) for name in args.names]
    if not names:
        raise UsageError("no name given", hint="name the authors to unfollow: digest subscribers unfollow EMAIL NAME")
    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        with store.transaction(exclusive=True):
            removed, unknown = store.follows.remove(subscriber.id, names)
        followed = store.follows.of(subscriber.id)
    for name in unknown:
        env.err(f"{subscriber.email} follows nobody named {name!r}")
    env.out(
        f"{subscriber.email}: {counted(len(removed), 'author')} unfollowed;"
        f" follows {counted(len(followed), 'author')}{': ' + _names(followed) if followed else ''}"
    )
    return ExitStatus.PARTIAL if unknown else ExitStatus.OK


def cmd_subscribers_suggest(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.ranking.suggest import suggestions

    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        suggested = suggestions(store, subscriber)
    for term in suggested:
        if args.json:
            env.out(
                json.dumps({"term": term.text, "liked_share": round(term.coverage, 3), "lift": round(term.lift, 2)})
            )
        else:
            env.out(term.text)
    if not suggested and (env.is_interactive or args.verbose):
        env.err(
            f"{subscriber.email}: no term sets their liked papers apart yet"
            " (a term needs half of them to use it, and to be rare in the history)"
        )
    return ExitStatus.OK


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "nobody"


def register_follow_actions(action: Action) -> None:
    """Add ``follow``, ``unfollow`` and ``suggest`` under ``digest subscribers``."""
    follow = action(
        "follow",
        cmd_subscribers_follow,
        "Follow authors: a new paper by one of them comes first in the subscriber's mail, 'by <Name>'. Names"
        " match as people write them: case, accents and spaces aside, and 'A. Vaswani' for 'Ashish Vaswani'.",
        "digest subscribers follow reader@example.org 'Ashish Vaswani' 'Y. LeCun'",
    )
    follow.add_argument("email")
    follow.add_argument("names", nargs="*", metavar="NAME", help="an author's name, e.g. 'A. Vaswani'")
    unfollow = action(
        "unfollow",
        cmd_subscribers_unfollow,
        "Stop following authors (a name as followed, or one that names the same author).",
        "digest subscribers unfollow reader@example.org 'Ashish Vaswani'",
    )
    unfollow.add_argument("email")
    unfollow.add_argument("names", nargs="*", metavar="NAME")
    suggest = action(
        "suggest",
        cmd_subscribers_suggest,
        "Print interest terms that set the subscriber's liked papers apart from the history (the measure the"
        " topic headings use), best first, leaving out their interests already.",
        "digest subscribers suggest reader@example.org",
    )
    suggest.add_argument("email")
    suggest.add_argument("--json", action="store_true", help="one JSON object per term per line")
