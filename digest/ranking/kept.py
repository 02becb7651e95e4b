"""A digest's ranking, prepared once and kept in the store: senders, previews and feeds only read it.

When a digest is published (:func:`keep_digest`), or a week's mails are first sent, its papers become
features (:mod:`digest.ranking.features`, scikit-learn) and every active reader's voted papers and
interest queries become rows (their similarity to each paper), kept under the digest's *scope*. When a
reader votes or changes their interests while a mail is queued for them (:func:`keep_reader`), the rows
their profile now needs are made for that mail. A sender then reads rows (numpy at most: no text is
vectorised, scikit-learn is not even imported) and ranks each reader with :func:`digest.ranking.rank.score`.
A row that is missing all the same (a digest published before rows were kept, a vote that came in
meanwhile) is made on the spot from the kept features, exactly as it would have been made at publish.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from digest.models import Digest, Profile, Subscriber
from digest.ranking.grouping import TOPICS_KEY, combined, week_scope
from digest.ranking.rank import IDF_SAMPLE, Ranking, score
from digest.ranking.rank_many import score_many
from digest.ranking.rows import VOTE, DigestRows, spread_key, term_key, wanted_texts
from digest.store import Store
from digest.store.ranking import PART

if TYPE_CHECKING:
    from digest.ranking.features import Features

log = logging.getLogger(__name__)

#: Rows a ranker holds in memory at most (it reads them back from the store as readers need them).
ROWS_IN_MEMORY = 20_000
#: A digest's rows are read all at once when they hold no more bytes than this (else as readers need them).
READ_AT_ONCE = 32 * 2**20
#: Readers ranked together from this many on (fewer are ranked one by one: a batch's arrays cost more than it saves).
BATCH_FROM = 3
#: The keys of a scope's features and of its papers' similarity to the history (no row key looks like them).
FEATURES = "features"
HISTORY = "history"
HISTORY_SPREAD = "history-spread"


def digest_scope(digest: Digest) -> str | None:
    """Where a digest's rows are kept: by its id, or for a week's mail by the week and its digests."""
    if digest.id is None:
        return None
    return f"digest:{digest.id}"


class Ranker:
    """A digest ready to rank for any reader: its rows in memory, more read or made as readers need them."""

    def __init__(
        self,
        digest: Digest,
        rows: DigestRows,
        *,
        scope: str | None,
        features: Features | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.digest = digest
        self.rows = rows
        self.scope = scope
        self.features = features
        self.now = now

    def prepare(self, store: Store | None, profiles: Iterable[Profile]) -> int:
        """Have the rows these readers need in memory: from the store when kept there, else made (and kept).

        Returns how many rows were made."""
        readers = [profile for profile in profiles if not profile.is_empty]
        wanted = self.rows.missing(readers)
        terms = self.rows.missing_terms(readers)
        if not wanted and not terms:
            return 0
        rows = self.rows.rows
        if len(rows) + len(wanted) + len(terms) > ROWS_IN_MEMORY:
            self.rows.forget()  # (and what these readers need is all wanted again)
            wanted = self.rows.missing(readers)
            terms = self.rows.missing_terms(readers)
        if store is not None and self.scope is not None:
            spreads = [spread_key(key) for key in wanted if key.startswith(VOTE)]
            self.take(store.ranking.get(self.scope, [*wanted, *spreads, *map(term_key, terms)]))
            wanted = {key: text for key, text in wanted.items() if not self.rows.holds(key)}
            terms = {term for term in terms if term_key(term) not in rows}
        made = DigestRows(history_scores=self.rows.history_scores, texts=())
        made.rows.update((term_key(term), self.rows.matches(term)) for term in terms)  # (no features needed)
        if wanted:
            self._features(store).add_rows(made, wanted)
            rows.update(made.rows)
            self.rows.spreads.update(made.spreads)
        if made.rows and store is not None and self.scope is not None:
            store.ranking.put(self.scope, made.encoded(), now=self._now())
        if made.rows:
            log.debug("made %d ranking rows for %s", len(made.rows), self.scope or self.digest.slug)
        return len(made.rows)

    def may_forget(self, profiles: Iterable[Profile]) -> bool:
        """Whether getting these readers' rows ready could drop the rows held now (to stay within
        :data:`ROWS_IN_MEMORY`): then a row of theirs held now may have to be made again."""
        needed = sum(len(profile.likes) + len(profile.dislikes) + 1 + len(profile.interests) for profile in profiles)
        return len(self.rows.rows) + needed > ROWS_IN_MEMORY

    def take(self, kept: dict[str, bytes]) -> None:
        """Hold rows read from the store."""
        self.rows.hold(kept)

    def holds(self) -> frozenset[str]:
        """The keys of the rows in memory now (a forked assembler inherits them)."""
        return frozenset((*self.rows.rows, *map(spread_key, self.rows.spreads)))

    def score(self, store: Store | None, profile: Profile | None, *, explain: int = 20) -> Ranking:
        """One reader's ranking (their rows read or made first, when they are not in memory)."""
        if profile is not None:
            self.prepare(store, [profile])
        return score(self.rows, profile, explain=explain)

    def rank(self, profile: Profile, *, explain: int = 20) -> Ranking:
        """One reader's ranking, their rows in memory already (see :meth:`prepare`)."""
        return score(self.rows, profile, explain=explain)

    def rank_many(self, profiles: Sequence[Profile], explains: Sequence[int]) -> list[Ranking]:
        """Readers' rankings, as :meth:`rank` gives each, made together (their rows in memory already)."""
        if len(profiles) < BATCH_FROM:
            return [self.rank(profile, explain=explain) for profile, explain in zip(profiles, explains, strict=True)]
        return score_many(self.rows, profiles, explains)

    def _features(self, store: Store | None) -> Features:
        if self.features is None:
            from digest.ranking.features import Features

            if store is not None and self.scope is not None:
                self.features = Features.from_parts(store.ranking.parts(self.scope, FEATURES))
                whole = store.ranking.get(self.scope, [FEATURES]) if self.features is None else {}
                if FEATURES in whole:  # (kept in one row by an earlier version)
                    self.features = Features.from_parts([whole[FEATURES]])
            if self.features is None:  # (kept rows without their features: forgotten meanwhile; made again)
                assert store is not None
                self.features = _prepare(store, self.digest)
        return self.features

    def _now(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


def ranker_for(store: Store | None, digest: Digest, *, scope: str | None = None, now: dt.datetime) -> Ranker:
    """The digest's ranker: its kept rows, or (kept now, when none were) features and rows for every reader.

    ``scope``: where a week's mail keeps them (default: the digest's own). Without a store, or for a digest
    not recorded, the features are made in memory and kept nowhere.
    """
    scope = scope or digest_scope(digest)
    if store is None or scope is None:
        features = _prepare(store, digest)
        return Ranker(digest, features.digest_rows(digest.papers), scope=None, features=features, now=now)
    kept = store.ranking.get(scope, [HISTORY, HISTORY_SPREAD])
    if HISTORY in kept:
        history = np.frombuffer(kept[HISTORY], dtype=np.float32)
        if history.shape[0] == len(digest.papers):
            rows = DigestRows.of(digest.papers, history)
            if HISTORY_SPREAD in kept:  # (else, a scope kept without it: found again)
                rows.knowing_spread(np.frombuffer(kept[HISTORY_SPREAD], dtype=np.float32))
            ranker = Ranker(digest, rows, scope=scope, now=now)
            if store.ranking.size(scope) <= READ_AT_ONCE:  # (the usual case: every reader's rows, read at once)
                ranker.take(store.ranking.all(scope, but=[FEATURES, HISTORY, HISTORY_SPREAD, TOPICS_KEY]))
            return ranker
    return keep_digest(store, digest, scope=scope, now=now)


def keep_digest(store: Store, digest: Digest, *, scope: str | None = None, now: dt.datetime) -> Ranker:
    """Make and keep a digest's features, and the rows of every active reader's votes and interest terms."""
    scope = scope or digest_scope(digest)
    assert scope is not None, "only a recorded digest is kept"
    features = _prepare(store, digest)
    rows = features.digest_rows(digest.papers)
    wanted = {}
    for paper in store.profiles.voted_by_active():
        wanted.update(wanted_texts(Profile(likes=(paper,))))
    queries = store.profiles.interests_of_active()
    for interests in queries:
        wanted.update(wanted_texts(Profile(interests=interests)))
    features.add_rows(rows, wanted)
    for term in sorted({term for interests in queries for term in interests}):
        rows.matches(term)
    kept = {HISTORY: features.history_scores.tobytes(), HISTORY_SPREAD: rows.history_spread().tobytes()}
    kept.update(rows.encoded())
    with store.transaction():
        store.ranking.forget_old(now=now)
        store.ranking.put_parts(scope, FEATURES, features.to_parts(PART), now=now)
        store.ranking.put(scope, kept, now=now)
    log.debug("kept the ranking of %s: %d rows", scope, len(rows.rows))
    if len(rows.rows) > ROWS_IN_MEMORY:
        rows.forget()
    return Ranker(digest, rows, scope=scope, features=features, now=now)


def keep_reader(store: Store, subscriber_id: int, *, now: dt.datetime) -> int:
    """After a reader's votes or interests changed: make the rows their profile now needs for every mail
    queued for them whose ranking is kept (so that the sender need not make them). Returns the rows made."""
    subscriber = store.subscribers.get(subscriber_id)
    return 0 if subscriber is None else keep_readers(store, [subscriber], now=now)


def keep_readers(store: Store, subscribers: Sequence[Subscriber], *, now: dt.datetime) -> int:
    """:func:`keep_reader` for many readers at once (an import): their profiles are read in one go, and each
    mail any of them waits for is read once and prepared for all of them."""
    if not subscribers:
        return 0
    daily, weekly = store.ranking.waiting_for([subscriber.id for subscriber in subscribers])
    if not daily and not weekly:
        return 0
    profiles = [profile for profile in store.profiles.for_subscribers(subscribers).values() if not profile.is_empty]
    if not profiles:
        return 0
    made = 0
    editions = [(store.digests.get(digest_id), f"digest:{digest_id}") for digest_id in daily]
    editions += [(combined(store, week, ids, published_at=now), week_scope(week, ids)) for week, ids in weekly]
    for digest, scope in editions:
        if digest is None or HISTORY not in store.ranking.get(scope, [HISTORY]):
            continue  # not kept yet: when it is, every reader's rows are made with it
        unused = np.zeros(len(digest.papers), dtype=np.float32)  # (rows do not depend on the history's scores)
        made += Ranker(digest, DigestRows.of(digest.papers, unused), scope=scope, now=now).prepare(store, profiles)
    return made


def _prepare(store: Store | None, digest: Digest) -> Features:
    from digest.ranking.features import prepare_papers

    history = store.profiles.recent_texts(IDF_SAMPLE) if store is not None else []
    return prepare_papers(digest.papers, history)
