"""Subscribers imported in batches: a thousand rows in a few statements, not a dozen statements a row.

A row means what ``subscribers add`` and a profile change mean for one address
(see :meth:`~digest.store.subscribers.Subscribers.add`): an active subscriber stays
active, a returning one starts afresh, a profile column given replaces that part
of the profile and one left out (None) keeps it. Call inside an exclusive
transaction; rows of one batch name distinct addresses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from digest.models import Frequency, PaperRef, Subscriber, SubscriberStatus, VotedPaper, VoteKind
from digest.store.backend import Database
from digest.store.follows import Follows
from digest.store.subscribers import COLUMNS, new_feed_key, subscriber_from_row
from digest.store.weekly import WeeklyMails
from digest.subscribers import terms_text

#: Parameters in one multi-row INSERT (SQLite allows 32,766, PostgreSQL 65,535).
INSERT_PARAMS = 4000
#: What names a vote (:func:`digest.listings.references.vote_key`, passed in: the store imports no stage).
VoteKeyer = Callable[[VotedPaper, PaperRef], str]


@dataclass(frozen=True, slots=True)
class ImportRow:
    email: str  # normalised
    status: SubscriberStatus  # what the row asks for: pending or active, or a leaver kept so
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    interests: tuple[str, ...] | None = None
    frequency: Frequency | None = None
    votes: dict[VoteKind, list[PaperRef]] | None = None  # the kinds given replace the reader's votes of that kind
    follows: tuple[str, ...] | None = None  # checked names: they replace the authors the reader follows


@dataclass(frozen=True, slots=True)
class Imported:
    subscriber: Subscriber
    created: bool  # new, or back after leaving


class SubscriberImport:
    def __init__(self, db: Database) -> None:
        self.db = db

    def apply(self, rows: Sequence[ImportRow], *, now: dt.datetime, vote_key: VoteKeyer) -> list[Imported]:
        """Record the rows (distinct addresses); each subscriber as it is now, and whether it was created."""
        before = self._by_email([row.email for row in rows])
        fresh = [row for row in rows if row.email not in before]
        self._insert(
            "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at,"
            " interests, frequency, feed_key) VALUES",
            "",
            [
                (
                    row.email,
                    row.status,
                    terms_text(row.include),
                    terms_text(row.exclude),
                    now,
                    now if row.status == "active" else None,
                    terms_text(row.interests or ()),
                    row.frequency or "daily",
                    new_feed_key(),
                )
                for row in fresh
            ],
        )
        known = [(row, before[row.email]) for row in rows if row.email in before]
        self.db.execute_many(  # (only what changes: importing the same file again writes next to nothing)
            "UPDATE subscribers SET status = ?, include_terms = ?, exclude_terms = ?, bounces = ?,"
            " confirmed_at = ?, unsubscribed_at = ? WHERE id = ?",
            [change for row, existing in known if (change := _update(row, existing, now)) != _current(existing)],
        )
        self.db.execute_many(
            "UPDATE subscribers SET interests = ? WHERE id = ?",
            [
                (terms_text(row.interests), existing.id)
                for row, existing in known
                if row.interests is not None and row.interests != existing.interests
            ],
        )
        weekly = WeeklyMails(self.db)
        for row, existing in known:  # (few: a frequency that changes moves the reader's waiting deliveries)
            if row.frequency is not None and row.frequency != existing.frequency:
                self.db.execute("UPDATE subscribers SET frequency = ? WHERE id = ?", (row.frequency, existing.id))
                weekly.change_frequency(existing.id, row.frequency)
        after = self._by_email([row.email for row in rows])
        self._votes(rows, after, now=now, vote_key=vote_key)
        Follows(self.db).replace(
            [(after[row.email].id, row.follows) for row in rows if row.follows is not None], now=now
        )
        profiled = [(after[row.email].id,) for row in rows if row.email in before and _profile_given(row)]
        self.db.execute_many("UPDATE subscribers SET profile_version = profile_version + 1 WHERE id = ?", profiled)
        return [
            Imported(
                after[row.email],
                row.email not in before or before[row.email].status != "active",
            )
            for row in rows
        ]

    def _insert(self, head: str, tail: str, rows: Sequence[tuple[object, ...]]) -> None:
        """``head VALUES (...), (...) tail``: a few hundred rows a statement (a statement a row is the slow part)."""
        if not rows:
            return
        per = max(1, INSERT_PARAMS // len(rows[0]))
        marks = "(" + ", ".join("?" * len(rows[0])) + ")"
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            self.db.execute(
                f"{head} {', '.join([marks] * len(chunk))}{tail}", [value for row in chunk for value in row]
            )

    def _by_email(self, emails: Sequence[str]) -> dict[str, Subscriber]:
        found: dict[str, Subscriber] = {}
        for start in range(0, len(emails), 500):
            chunk = emails[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT {COLUMNS} FROM subscribers WHERE email IN ({marks})", chunk):
                subscriber = subscriber_from_row(row)
                found[subscriber.email] = subscriber
        return found

    def _votes(
        self, rows: Sequence[ImportRow], subscribers: dict[str, Subscriber], *, now: dt.datetime, vote_key: VoteKeyer
    ) -> None:
        given = [(subscribers[row.email].id, row.votes) for row in rows if row.votes]
        if not given:
            return
        refs = [ref for _, votes in given for kind_refs in votes.values() for ref in kind_refs]
        papers = self._resolve(refs)
        had = self._vote_keys([subscriber_id for subscriber_id, _ in given])
        replaced, inserts = [], []
        for subscriber_id, votes in given:
            for kind, kind_refs in votes.items():
                named = [
                    (papers.get(ref.key) or VotedPaper(title=ref.text, arxiv_id=ref.arxiv_id), ref) for ref in kind_refs
                ]
                keys = [vote_key(paper, ref) for paper, ref in named]
                if len(set(keys)) == len(keys) and set(keys) == had.get((subscriber_id, kind), set()):
                    continue  # the same votes: kept as they are (and when they were cast)
                replaced.append((subscriber_id, kind))
                inserts += [
                    (subscriber_id, key, kind, paper.paper_id, paper.arxiv_id, paper.title, paper.abstract, now)
                    for key, (paper, _) in zip(keys, named, strict=True)
                ]
        self.db.execute_many("DELETE FROM votes WHERE subscriber_id = ? AND kind = ?", replaced)
        self._insert(
            "INSERT INTO votes (subscriber_id, paper_key, kind, paper_id, arxiv_id, title, abstract, created_at)"
            " VALUES",
            " ON CONFLICT (subscriber_id, paper_key) DO UPDATE SET kind = excluded.kind,"
            " created_at = excluded.created_at",
            _last_per_key(inserts),
        )

    def _vote_keys(self, subscriber_ids: Sequence[int]) -> dict[tuple[int, str], set[str]]:
        keys: dict[tuple[int, str], set[str]] = {}
        for start in range(0, len(subscriber_ids), 500):
            chunk = subscriber_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for subscriber_id, kind, key in self.db.execute(
                f"SELECT subscriber_id, kind, paper_key FROM votes WHERE subscriber_id IN ({marks})", chunk
            ):
                keys.setdefault((int(subscriber_id), str(kind)), set()).add(str(key))
        return keys

    def _resolve(self, refs: Sequence[PaperRef]) -> dict[str, VotedPaper]:
        """The history's papers the references name, by reference key (as :meth:`Profiles.resolve`, in bulk)."""
        found: dict[str, VotedPaper] = {}
        ids = sorted({ref.arxiv_id for ref in refs if ref.arxiv_id})
        keys = sorted({ref.title_key for ref in refs if not ref.arxiv_id})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for paper_id, title, abstract, arxiv in self.db.execute(
                f"SELECT id, title, abstract, arxiv_id FROM papers WHERE arxiv_id IN ({marks})", chunk
            ):
                found[f"arxiv:{arxiv}"] = VotedPaper(str(title), str(abstract), int(paper_id), arxiv)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for key, paper_id, title, abstract, arxiv in self.db.execute(
                "SELECT k.key, p.id, p.title, p.abstract, p.arxiv_id FROM title_keys k JOIN papers p"
                f" ON p.id = k.paper_id WHERE k.key IN ({marks})",
                chunk,
            ):
                found[f"title:{key}"] = VotedPaper(str(title), str(abstract), int(paper_id), arxiv)
        return found


def _update(row: ImportRow, existing: Subscriber, now: dt.datetime) -> tuple[object, ...]:
    keep_active = existing.status == "active"
    return (
        "active" if keep_active else row.status,
        terms_text(row.include),
        terms_text(row.exclude),
        existing.bounces if keep_active else 0,
        existing.confirmed_at if keep_active else (now if row.status == "active" else None),
        None if keep_active or row.status != "unsubscribed" else existing.unsubscribed_at,
        existing.id,
    )


def _current(existing: Subscriber) -> tuple[object, ...]:
    return (
        existing.status,
        terms_text(existing.include),
        terms_text(existing.exclude),
        existing.bounces,
        existing.confirmed_at,
        existing.unsubscribed_at,
        existing.id,
    )


def _last_per_key(rows: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """One row per (subscriber, paper key), the last (a multi-row INSERT may not touch a row twice)."""
    return list({(row[0], row[1]): row for row in rows}.values())


def _profile_given(row: ImportRow) -> bool:
    return row.interests is not None or row.frequency is not None or bool(row.votes) or row.follows is not None
