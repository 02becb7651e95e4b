"""Profiles: soft interest terms, frequency and votes (the papers a reader liked or disliked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from digest.models import Frequency, PaperRef, Profile, Subscriber, VotedPaper, VoteKind
from digest.store.backend import Database
from digest.store.follows import Follows
from digest.store.subscribers import new_feed_key
from digest.store.weekly import WeeklyMails
from digest.subscribers import parse_terms, terms_text

#: At most this many votes of each kind count (the most recent): a reader's taste moves.
VOTES_KEPT = 200
#: The votes that rank: a vote named by arXiv id alone says nothing of its paper until a listing brings it.
COUNTED = "NOT (paper_id IS NULL AND paper_key LIKE 'arxiv:%')"


@dataclass(frozen=True, slots=True)
class Vote:
    key: str  # "arxiv:2403.01234" or "title:<title key>"
    kind: VoteKind
    paper: VotedPaper
    created_at: dt.datetime


class Profiles:
    def __init__(self, db: Database) -> None:
        self.db = db

    def update(
        self, subscriber_id: int, *, interests: Sequence[str] | None = None, frequency: Frequency | None = None
    ) -> None:
        """Change what is given; what is None stays."""
        if interests is not None:
            self.db.execute(
                "UPDATE subscribers SET interests = ?, profile_version = profile_version + 1 WHERE id = ?",
                (terms_text(interests), subscriber_id),
            )
        if frequency is not None:
            # Exclusive: a day's send queueing this reader, or a week's mails being queued, waits (or is waited for).
            with self.db.transaction(exclusive=True):
                rows = self.db.execute(
                    "UPDATE subscribers SET frequency = ?, profile_version = profile_version + 1"
                    " WHERE id = ? AND frequency <> ? RETURNING id",
                    (frequency, subscriber_id, frequency),
                )
                if rows:
                    WeeklyMails(self.db).change_frequency(subscriber_id, frequency)

    def resolve(self, ref: PaperRef) -> VotedPaper | None:
        """The history's paper a reference names (by arXiv id, else by title key); None when unknown."""
        if ref.arxiv_id:
            rows = self.db.execute(
                "SELECT id, title, abstract, arxiv_id FROM papers WHERE arxiv_id = ?", (ref.arxiv_id,)
            )
        else:
            rows = self.db.execute(
                "SELECT p.id, p.title, p.abstract, p.arxiv_id FROM title_keys k JOIN papers p ON p.id = k.paper_id"
                " WHERE k.key = ?",
                (ref.title_key,),
            )
        if not rows:
            return None
        paper_id, title, abstract, arxiv = rows[0]
        return VotedPaper(title=str(title), abstract=str(abstract), paper_id=int(paper_id), arxiv_id=arxiv)

    def join_waiting(self, keys: Iterable[str]) -> int:
        """Votes that wait for a paper (named by arXiv id, or by a title the history lacked) join it once a
        listing brings it; ``keys`` are what the listing's papers may have been named by ("arxiv:<id>",
        "title:<title key>"). Call inside the ingest transaction, after the dump is recorded. The vote takes
        the paper's text and its usual key; a reader's other vote on the same paper gives way to the newer one.
        Returns how many joined."""
        wanted = sorted(set(keys))
        waiting = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            waiting += self.db.execute(
                "SELECT id, subscriber_id, paper_key, created_at FROM votes"
                f" WHERE paper_id IS NULL AND paper_key IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        joined = 0
        for vote_id, subscriber_id, key, created in waiting:
            kind, _, name = str(key).partition(":")
            paper = self.resolve(PaperRef(name, name if kind == "arxiv" else None, name if kind == "title" else ""))
            if paper is None or paper.paper_id is None:
                continue
            usual = f"arxiv:{paper.arxiv_id}" if paper.arxiv_id else f"paper:{paper.paper_id}"
            other = self.db.execute(
                "SELECT id, created_at FROM votes WHERE subscriber_id = ? AND paper_key = ? AND id <> ?",
                (subscriber_id, usual, vote_id),
            )
            if other and other[0][1] >= created:  # the reader voted on it again since: that vote stands
                self.db.execute("DELETE FROM votes WHERE id = ?", (vote_id,))
                continue
            if other:
                self.db.execute("DELETE FROM votes WHERE id = ?", (other[0][0],))
            self.db.execute(
                "UPDATE votes SET paper_key = ?, paper_id = ?, arxiv_id = ?, title = ?, abstract = ? WHERE id = ?",
                (usual, paper.paper_id, paper.arxiv_id, paper.title, paper.abstract, vote_id),
            )
            joined += 1
        return joined

    def paper(self, paper_id: int) -> VotedPaper | None:
        rows = self.db.execute("SELECT id, title, abstract, arxiv_id FROM papers WHERE id = ?", (paper_id,))
        if not rows:
            return None
        _, title, abstract, arxiv = rows[0]
        return VotedPaper(title=str(title), abstract=str(abstract), paper_id=paper_id, arxiv_id=arxiv)

    def vote(self, subscriber_id: int, key: str, kind: VoteKind, paper: VotedPaper, *, now: dt.datetime) -> bool:
        """Record a vote (a second vote on the same paper replaces the first); True when something changed."""
        rows = self.db.execute("SELECT kind FROM votes WHERE subscriber_id = ? AND paper_key = ?", (subscriber_id, key))
        if rows and rows[0][0] == kind:
            return False
        self.db.execute(
            "INSERT INTO votes (subscriber_id, paper_key, kind, paper_id, arxiv_id, title, abstract, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (subscriber_id, paper_key) DO UPDATE SET kind = excluded.kind,"
            " created_at = excluded.created_at",
            (subscriber_id, key, kind, paper.paper_id, paper.arxiv_id, paper.title, paper.abstract, now),
        )
        self.touched(subscriber_id)
        return True

    def unvote(self, subscriber_id: int, key: str) -> str | None:
        """Remove a vote; the kind it was, or None when there was none."""
        rows = self.db.execute(
            "DELETE FROM votes WHERE subscriber_id = ? AND paper_key = ? RETURNING kind", (subscriber_id, key)
        )
        if rows:
            self.touched(subscriber_id)
        return str(rows[0][0]) if rows else None

    def touched(self, subscriber_id: int) -> None:
        """The reader's profile changed: what is built from it (their feed) is to be built again."""
        self.db.execute("UPDATE subscribers SET profile_version = profile_version + 1 WHERE id = ?", (subscriber_id,))

    def kind_of(self, subscriber_id: int, key: str) -> VoteKind | None:
        rows = self.db.execute("SELECT kind FROM votes WHERE subscriber_id = ? AND paper_key = ?", (subscriber_id, key))
        return rows[0][0] if rows else None

    def votes(self, subscriber_id: int) -> list[Vote]:
        """A subscriber's votes, newest first."""
        rows = self.db.execute(
            "SELECT paper_key, kind, paper_id, arxiv_id, title, abstract, created_at FROM votes"
            " WHERE subscriber_id = ? ORDER BY created_at DESC, id DESC",
            (subscriber_id,),
        )
        return [
            Vote(
                key=str(key),
                kind=kind,
                paper=VotedPaper(str(title), str(abstract), None if paper_id is None else int(paper_id), arxiv),
                created_at=created,
            )
            for key, kind, paper_id, arxiv, title, abstract, created in rows
        ]

    def recent_votes(self, subscriber_id: int, kind: VoteKind, limit: int) -> list[Vote]:
        """A subscriber's ``limit`` most recent votes of one kind, newest first."""
        rows = self.db.execute(
            "SELECT paper_key, kind, paper_id, arxiv_id, title, abstract, created_at FROM votes"
            " WHERE subscriber_id = ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (subscriber_id, kind, limit),
        )
        return [
            Vote(
                str(key), kind, VotedPaper(str(title), str(abstract), None if pid is None else int(pid), arxiv), created
            )
            for key, kind, pid, arxiv, title, abstract, created in rows
        ]

    def vote_counts(self, subscriber_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """(likes, dislikes) per subscriber that has any."""
        ids = list(subscriber_ids)
        counts: dict[int, tuple[int, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for subscriber_id, kind, count in self.db.execute(
                f"SELECT subscriber_id, kind, COUNT(*) FROM votes WHERE subscriber_id IN ({marks})"
                " GROUP BY subscriber_id, kind",
                chunk,
            ):
                likes, dislikes = counts.get(int(subscriber_id), (0, 0))
                if kind == "like":
                    likes = int(count)
                else:
                    dislikes = int(count)
                counts[int(subscriber_id)] = (likes, dislikes)
        return counts

    def for_subscribers(self, subscribers: Sequence[Subscriber], *, texts: bool = True) -> dict[int, Profile]:
        """The profiles of ``subscribers`` (a batch of a send), with their votes (and follows) read in one query.

        ``texts=False`` leaves out the abstracts of votes for papers the store has (their ranking rows are kept
        by the paper, and an abstract is read from pages of its own): for readers whose rows are ready."""
        likes: dict[int, list[VotedPaper]] = {}
        dislikes: dict[int, list[VotedPaper]] = {}
        ids = [subscriber.id for subscriber in subscribers]
        abstract_column = "abstract" if texts else "CASE WHEN paper_id IS NULL THEN abstract ELSE '' END"
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT subscriber_id, kind, paper_id, arxiv_id, title, {abstract_column} FROM votes"
                f" WHERE subscriber_id IN ({marks}) AND {COUNTED}"
                " ORDER BY subscriber_id, created_at DESC, id DESC",
                chunk,
            )
            for subscriber_id, kind, paper_id, arxiv, title, abstract in rows:
                into = likes if kind == "like" else dislikes
                kept = into.setdefault(int(subscriber_id), [])
                if len(kept) < VOTES_KEPT:
                    known = None if paper_id is None else int(paper_id)
                    kept.append(VotedPaper(str(title), str(abstract), known, arxiv))
        follows = Follows(self.db).for_subscribers(ids)
        return {
            subscriber.id: Profile(
                interests=subscriber.interests,
                likes=tuple(likes.get(subscriber.id, ())),
                dislikes=tuple(dislikes.get(subscriber.id, ())),
                frequency=subscriber.frequency,
                follows=follows.get(subscriber.id, ()),
            )
            for subscriber in subscribers
        }

    def profile(self, subscriber: Subscriber) -> Profile:
        return self.for_subscribers([subscriber])[subscriber.id]

    def renew_feed_key(self, subscriber_id: int) -> str:
        """A new key for the reader's personal feed URL, revoking the old URL (a POST's work, never a page view's:
        the key is made with the reader)."""
        key = new_feed_key()
        self.db.execute("UPDATE subscribers SET feed_key = ? WHERE id = ?", (key, subscriber_id))
        return key

    def feed_identity(self, subscriber_id: int) -> str | None:
        """What a feed token signs: the address and the current feed key; None without a feed."""
        rows = self.db.execute("SELECT email, feed_key FROM subscribers WHERE id = ?", (subscriber_id,))
        if not rows or not rows[0][1]:
            return None
        return f"{rows[0][0]}#{rows[0][1]}"

    def voted_by_active(self) -> list[VotedPaper]:
        """Every paper an active reader's counted votes name (their :data:`VOTES_KEPT` most recent of each kind),
        once each: what a digest's ranking rows are made for when it is published."""
        recent = (
            "SELECT v.id, v.paper_id, v.arxiv_id, v.title, LENGTH(v.abstract) AS chars, ROW_NUMBER() OVER"
            " (PARTITION BY v.subscriber_id, v.kind ORDER BY v.created_at DESC, v.id DESC) AS n"
            " FROM votes v JOIN subscribers s ON s.id = v.subscriber_id WHERE s.status = 'active'"
            " AND NOT (v.paper_id IS NULL AND v.paper_key LIKE 'arxiv:%')"  # (as COUNTED: waiting votes weigh nothing)
        )
        rows = self.db.execute(
            f"WITH recent AS ({recent}) SELECT paper_id, arxiv_id, title, abstract FROM votes WHERE id IN ("
            " SELECT MIN(id) FROM recent WHERE n <= ? AND paper_id IS NOT NULL GROUP BY paper_id"
            " UNION SELECT MIN(id) FROM recent WHERE n <= ? AND paper_id IS NULL GROUP BY arxiv_id, title, chars)"
            " ORDER BY id",
            (VOTES_KEPT, VOTES_KEPT),
        )
        return [
            VotedPaper(str(title), str(abstract), None if paper_id is None else int(paper_id), arxiv)
            for paper_id, arxiv, title, abstract in rows
        ]

    def interests_of_active(self) -> list[tuple[str, ...]]:
        """The distinct sets of interest terms of active readers."""
        rows = self.db.execute(
            "SELECT DISTINCT interests FROM subscribers WHERE status = 'active' AND interests <> '' ORDER BY interests"
        )
        return sorted({terms for (text,) in rows if (terms := parse_terms(str(text)))})

    def feed_state(self, subscriber_id: int) -> tuple[object, ...] | None:
        """What a reader's personal feed is built from, in one cheap query (its ETag is made of it): the reader's
        status, frequency, profile version and feed key, and the newest digest, week and listing."""
        rows = self.db.execute(
            "SELECT status, frequency, profile_version, feed_key, (SELECT MAX(id) FROM digests),"
            " (SELECT MAX(week) FROM weeks), (SELECT MAX(id) FROM dumps) FROM subscribers WHERE id = ?",
            (subscriber_id,),
        )
        return tuple(rows[0]) if rows else None

    def recent_texts(self, limit: int) -> list[tuple[str, str]]:
        """Title and abstract of the history's ``limit`` most recent papers (what ranking fits its IDF on)."""
        rows = self.db.execute("SELECT title, abstract FROM papers ORDER BY id DESC LIMIT ?", (limit,))
        return [(str(title), str(abstract)) for title, abstract in rows]

    def newest_paper(self) -> int:
        """The newest paper's id (0 for an empty history): what is read from :meth:`recent_texts` changes with it."""
        rows = self.db.execute("SELECT MAX(id) FROM papers")
        return int(rows[0][0] or 0)
