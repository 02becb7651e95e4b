"""Commands about a subscriber's profile: interest terms, frequency, likes and dislikes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, counted, store_for
from digest.errors import DigestError, ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.models import PaperRef, Subscriber, VotedPaper, VoteKind
    from digest.store import Store
    from digest.store.profiles import Vote

Action = Callable[[str, Callable[..., ExitStatus], str, str], argparse.ArgumentParser]


def find_subscriber(store: Store, email: str) -> Subscriber:
    from digest.subscribers import normalise_address

    address = normalise_address(email)
    subscriber = store.subscribers.by_email(address)
    if subscriber is None:
        raise DigestError(f"{address} is not a subscriber", hint="add them first: digest subscribers add ADDRESS")
    return subscriber


def cmd_subscribers_set(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.subscribers import checked_terms

    if args.interests is None and args.frequency is None:
        raise UsageError("nothing to change", hint="give --interests TERMS and/or --frequency daily|weekly")
    interests = checked_terms(args.interests, "--interests") if args.interests is not None else None
    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        store.profiles.update(subscriber.id, interests=interests, frequency=args.frequency)
        _rank_ahead(store, subscriber.id, env)
        updated = store.subscribers.get(subscriber.id)
        assert updated is not None
        counts = store.profiles.vote_counts([updated.id]).get(updated.id, (0, 0))
        summary = profile_summary(updated, counts, store.follows.of(updated.id))
    if env.is_interactive or args.verbose:
        env.out(f"{updated.email}: {summary}")
    return ExitStatus.OK


def cmd_subscribers_like(args: argparse.Namespace, env: Environment) -> ExitStatus:
    return _vote(args, env, "like")


def cmd_subscribers_dislike(args: argparse.Namespace, env: Environment) -> ExitStatus:
    return _vote(args, env, "dislike")


def _refs(args: argparse.Namespace, env: Environment) -> tuple[list[tuple[str, PaperRef]], int]:
    """The papers named on the command line and in --file, each with where it came from; and how many were bad."""
    from digest.listings.references import read_refs

    named: list[tuple[str, PaperRef]] = []
    bad = 0
    if args.papers:
        refs, problems = read_refs(args.papers)
        named += [(f"argument {number}", ref) for number, ref in refs]
        for problem in problems:
            env.err(f"argument {problem.line}: {problem.problem}; skipped")
        bad += len(problems)
    if args.file:
        path = Path(args.file)
        try:
            lines = path.read_text(encoding="utf-8-sig", errors="strict").splitlines()
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not UTF-8 text", hint="save the list as UTF-8, one paper a line") from None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        refs, problems = read_refs(lines)
        named += [(f"{path}:{number}", ref) for number, ref in refs]
        for problem in problems:
            env.err(f"{path}:{problem.line}: {problem.problem}; line skipped")
        bad += len(problems)
    if not named and not bad:
        raise UsageError("no paper given", hint="name papers as arguments (title, arXiv id or URL) or use --file FILE")
    return named, bad


def _vote(args: argparse.Namespace, env: Environment, kind: VoteKind) -> ExitStatus:
    from digest.listings.references import vote_key
    from digest.models import VotedPaper

    config = config_from(args, env)
    now = env.clock()
    named, bad = _refs(args, env)
    matched = kept = waiting = 0
    with store_for(config, now) as store:
        subscriber = find_subscriber(store, args.email)
        with store.transaction(exclusive=True):
            for _, ref in named:
                paper = store.profiles.resolve(ref)
                if paper is None:
                    paper = VotedPaper(title=ref.text, arxiv_id=ref.arxiv_id)
                    if ref.arxiv_id:
                        waiting += 1  # an id alone says nothing of the paper: it counts once a listing brings it
                    else:
                        kept += 1
                else:
                    matched += 1
                store.profiles.vote(subscriber.id, vote_key(paper, ref), kind, paper, now=now)
        _rank_ahead(store, subscriber.id, env)
    # Said with or without a terminal: how many papers were found is the command's answer.
    verb = "liked" if kind == "like" else "disliked"
    found = [f"{matched} matched in the history", f"{kept} kept with their text"]
    if waiting:
        found.append(f"{waiting} named by arXiv id, waiting for a listing to bring {'it' if waiting == 1 else 'them'}")
    env.out(
        f"{subscriber.email}: {verb} {counted(matched + kept + waiting, 'paper')}: {', '.join(found)};"
        f" {counted(bad, 'line')} rejected"
    )
    return ExitStatus.PARTIAL if bad else ExitStatus.OK


def _rank_ahead(store: Store, subscriber_id: int, env: Environment) -> None:
    """A mail may be queued for the reader: its ranking gets what their changed profile needs, now."""
    from digest.ranking.kept import keep_reader

    keep_reader(store, subscriber_id, now=env.clock())


def cmd_subscribers_votes(args: argparse.Namespace, env: Environment) -> ExitStatus:
    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        for vote in store.profiles.votes(subscriber.id):
            if args.json:
                env.out(
                    json.dumps(
                        {
                            "kind": vote.kind,
                            "title": vote.paper.title,
                            "arxiv_id": vote.paper.arxiv_id,
                            "in_history": vote.paper.paper_id is not None,
                            "waits_for": waits_for(vote),
                            "voted_at": vote.created_at.isoformat(),
                        }
                    )
                )
            else:
                waiting = waits_for(vote)
                if waiting is None:
                    note = ""
                elif waiting.startswith("arXiv:"):
                    note = f"  (waits for {waiting} to be listed; it counts from then on)"
                else:
                    note = "  (not listed yet: its title counts until a listing brings the paper)"
                env.out(f"{vote.kind:<8} {vote.paper.title}{note}")
    return ExitStatus.OK


def waits_for(vote: Vote) -> str | None:
    """What a vote not yet joined to its paper waits for: "arXiv:2501.11111", or "title"; None once joined."""
    if vote.paper.paper_id is not None:
        return None
    kind, _, name = vote.key.partition(":")
    return f"arXiv:{name}" if kind == "arxiv" else "title"


def cmd_subscribers_unvote(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.listings.references import vote_key

    config = config_from(args, env)
    named, bad = _refs(args, env)
    removed = 0
    with store_for(config, env.clock()) as store:
        subscriber = find_subscriber(store, args.email)
        keys = {vote.key: vote for vote in store.profiles.votes(subscriber.id)}
        for where, ref in named:
            paper = store.profiles.resolve(ref)
            candidates = {ref.key} | ({vote_key(paper, ref)} if paper else set())
            candidates |= {key for key, vote in keys.items() if _names(vote.paper, ref)}
            gone = [key for key in candidates if store.profiles.unvote(subscriber.id, key)]
            if not gone:
                env.err(f"{where}: {subscriber.email} has no vote on {ref.text!r}")
                bad += 1
            removed += len(gone)
    if env.is_interactive or args.verbose or bad:
        env.out(f"{subscriber.email}: removed {removed} {'vote' if removed == 1 else 'votes'}")
    return ExitStatus.PARTIAL if bad else ExitStatus.OK


def _names(paper: VotedPaper, ref: PaperRef) -> bool:
    from digest.listings.identity import title_key

    if ref.arxiv_id:
        return paper.arxiv_id == ref.arxiv_id
    return title_key(paper.title) == ref.title_key


def profile_summary(subscriber: Subscriber, votes: tuple[int, int], follows: Sequence[str] = ()) -> str:
    """ "interests: speech, audio; follows: A. Vaswani; 3 likes, 1 dislike; weekly" (the parts that are set)."""
    likes, dislikes = votes
    parts = []
    if subscriber.interests:
        parts.append("interests: " + ", ".join(subscriber.interests))
    if follows:
        parts.append("follows: " + ", ".join(follows))
    if likes or dislikes:
        parts.append(
            f"{likes} {'like' if likes == 1 else 'likes'}, {dislikes} {'dislike' if dislikes == 1 else 'dislikes'}"
        )
    parts.append(subscriber.frequency)
    return "; ".join(parts)


def register_actions(action: Action) -> None:
    """Add the profile commands under ``digest subscribers``."""
    setting = action(
        "set",
        cmd_subscribers_set,
        "Change a subscriber's profile: soft interest terms (they rank, never filter) and frequency.",
        "digest subscribers set reader@example.org --interests 'speech, audio' --frequency weekly",
    )
    setting.add_argument("email")
    setting.add_argument("--interests", metavar="TERMS", help="comma-separated terms ('' clears them)")
    setting.add_argument("--frequency", choices=["daily", "weekly"])
    for name, handler, verb in (
        ("like", cmd_subscribers_like, "liked"),
        ("dislike", cmd_subscribers_dislike, "disliked"),
    ):
        voting = action(
            name,
            handler,
            f"Record papers the subscriber {verb}: titles, arXiv ids or URLs, as arguments or one a line in"
            " a file. A title not in the history is kept with its text. Bad lines are reported with their"
            " number and skipped.",
            f"digest subscribers {name} reader@example.org --file favourites.txt",
        )
        _paper_arguments(voting)
    votes = action(
        "votes",
        cmd_subscribers_votes,
        "List a subscriber's likes and dislikes, newest first.",
        "digest subscribers votes reader@example.org",
    )
    votes.add_argument("email")
    votes.add_argument("--json", action="store_true", help="print one JSON object per vote per line")
    unvote = action(
        "unvote",
        cmd_subscribers_unvote,
        "Remove a subscriber's votes on papers (named as for 'like').",
        "digest subscribers unvote reader@example.org 2403.01234",
    )
    _paper_arguments(unvote)


def _paper_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email")
    parser.add_argument("papers", nargs="*", metavar="PAPER", help="a title, an arXiv id or an arXiv URL")
    parser.add_argument("--file", metavar="FILE", help="a UTF-8 text file, one paper a line ('#' starts a comment)")


def summaries(
    store: Store, subscribers: Sequence[Subscriber], follows: dict[int, tuple[str, ...]] | None = None
) -> dict[int, str]:
    counts = store.profiles.vote_counts(subscriber.id for subscriber in subscribers)
    if follows is None:
        follows = store.follows.for_subscribers(subscriber.id for subscriber in subscribers)
    return {
        subscriber.id: profile_summary(subscriber, counts.get(subscriber.id, (0, 0)), follows.get(subscriber.id, ()))
        for subscriber in subscribers
    }
