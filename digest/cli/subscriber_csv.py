"""``digest subscribers import`` and ``export``: subscribers and their whole profile as CSV.

Columns: ``email``, ``status``, ``include``, ``exclude`` (comma-separated hard
filters), ``interests`` (comma-separated soft terms), ``frequency`` (daily or
weekly), ``likes`` and ``dislikes`` (one paper a line inside the cell: an arXiv
id as ``arXiv:2403.01234``, else a title) and ``created_at``. Import reads
what export writes; a profile column given for a row replaces that part of
the profile, a column left out keeps it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from digest.cli.env import Environment, config_from, counted, send_confirmation_to, signing_key, store_for
from digest.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from digest.models import Frequency, PaperRef, Subscriber, SubscriberStatus, VoteKind
    from digest.store import Store

COLUMNS = ("email", "status", "include", "exclude", "interests", "frequency", "likes", "dislikes", "created_at")


class RowError(ValueError):
    """A row that cannot be imported; the message says what is wrong with which column."""


def cmd_subscribers_import(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.subscribers import AddressError, normalise_address

    config = config_from(args, env)
    now = env.clock()
    path = Path(args.file)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    added = updated = bad = 0
    secret = signing_key(env, config) if args.pending else None
    with handle, store_for(config, now) as store:
        reader = csv.DictReader(handle)
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        if "email" not in fields:
            raise UsageError(
                f"{path}: the first line must name the columns, with an 'email' column",
                hint="e.g. email,include,exclude,interests,frequency,likes,dislikes",
            )
        reader.fieldnames = fields
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise UsageError(f"{path}: unknown columns {', '.join(sorted(unknown))} (use {', '.join(COLUMNS)})")
        for row in reader:
            line = reader.line_num
            try:
                address = normalise_address(row.get("email") or "")
                subscriber, created = _import_row(store, row, address, pending=args.pending, now=now)
            except AddressError as exc:
                env.err(f"{path}:{line}: {exc.message}; row skipped")
                bad += 1
                continue
            except RowError as exc:
                env.err(f"{path}:{line}: {exc}; row skipped")
                bad += 1
                continue
            if args.pending and subscriber.status == "pending":
                send_confirmation_to(config, subscriber, secret, now)
            added += created
            updated += not created
    if env.is_interactive or args.verbose:
        env.out(f"imported {added} new and {updated} known addresses; {counted(bad, 'row')} skipped")
    return ExitStatus.PARTIAL if bad else ExitStatus.OK


def _import_row(
    store: Store, row: dict[str, str | None], address: str, *, pending: bool, now: dt.datetime
) -> tuple[Subscriber, bool]:
    from digest.subscribers import parse_terms

    frequency = (row.get("frequency") or "").strip().lower() or None
    if frequency not in (None, "daily", "weekly"):
        raise RowError(f"frequency {frequency!r} is not daily or weekly")
    exported = (row.get("status") or "").strip().lower()
    status: SubscriberStatus = "pending" if pending else "active"
    if exported == "unsubscribed":  # an export never brings a leaver back
        status = "unsubscribed"
    elif exported == "bounced":
        status = "bounced"
    votes: dict[VoteKind, list[PaperRef] | None] = {
        "like": _cell_refs(row.get("likes"), "likes"),
        "dislike": _cell_refs(row.get("dislikes"), "dislikes"),
    }
    with store.transaction(exclusive=True):
        subscriber, created = store.subscribers.add(
            address,
            status=status,
            include=parse_terms(row.get("include")),
            exclude=parse_terms(row.get("exclude")),
            now=now,
        )
        interests = parse_terms(row["interests"]) if row.get("interests") is not None else None
        store.profiles.update(subscriber.id, interests=interests, frequency=_frequency(frequency))
        for kind, refs in votes.items():
            if refs is not None:
                _replace_votes(store, subscriber.id, kind, refs, now=now)
    if interests is not None or any(refs is not None for refs in votes.values()):
        from digest.ranking.kept import keep_reader

        keep_reader(store, subscriber.id, now=now)  # (a mail may be queued for them)
    found = store.subscribers.get(subscriber.id)
    assert found is not None
    return found, created


def _frequency(text: str | None) -> Frequency | None:
    return "daily" if text == "daily" else "weekly" if text == "weekly" else None


def _cell_refs(cell: str | None, column: str) -> list[PaperRef] | None:
    """The papers of a likes/dislikes cell; None when the column is absent."""
    from digest.listings.references import read_refs

    if cell is None:
        return None
    refs, problems = read_refs(cell.splitlines())
    if problems:
        raise RowError(f"{column}: {problems[0]}")
    return [ref for _, ref in refs]


def _replace_votes(store: Store, subscriber_id: int, kind: VoteKind, refs: list[PaperRef], *, now: dt.datetime) -> None:
    from digest.listings.references import vote_key
    from digest.models import VotedPaper

    for vote in store.profiles.votes(subscriber_id):
        if vote.kind == kind:
            store.profiles.unvote(subscriber_id, vote.key)
    for ref in refs:
        paper = store.profiles.resolve(ref) or VotedPaper(title=ref.text, arxiv_id=ref.arxiv_id)
        store.profiles.vote(subscriber_id, vote_key(paper, ref), kind, paper, now=now)


def cmd_subscribers_export(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from digest.listings.references import export_ref

    config = config_from(args, env)
    with store_for(config, env.clock()) as store:
        writer = csv.writer(env.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for subscriber in store.subscribers.iter_all(status=args.status):
            votes = store.profiles.votes(subscriber.id)
            writer.writerow(
                [
                    subscriber.email,
                    subscriber.status,
                    ", ".join(subscriber.include),
                    ", ".join(subscriber.exclude),
                    ", ".join(subscriber.interests),
                    subscriber.frequency,
                    "\n".join(export_ref(vote.paper) for vote in reversed(votes) if vote.kind == "like"),
                    "\n".join(export_ref(vote.paper) for vote in reversed(votes) if vote.kind == "dislike"),
                    subscriber.created_at.isoformat() if subscriber.created_at else "",
                ]
            )
    return ExitStatus.OK
