"""Ranking a digest's papers for one reader. Pure: a digest's similarity rows and a profile in, order and reasons out.

As arxiv-sanity-lite does, papers are TF-IDF vectors of their title and abstract
(:mod:`digest.ranking.features` makes them, once per digest), and each reader
gets a linear model of what they like:

- **A reader's model** is a nearest-centroid (Rocchio) linear classifier, the
  closed form of "likes against dislikes and the rest of the history": the
  centroid of the papers they liked, minus part of the centroid of those they
  disliked and of the history's. Being linear, a reader's scores are sums of
  *rows*: each voted paper's cosine similarity to each of the digest's papers,
  computed once per digest (when it is published, or when a vote comes in) and
  shared by every reader who voted for that paper. Each row is kept in units
  of its spread over the digest's papers (and the history's scores are read so
  too): each vote weighs the same in the centroid, however many common words
  its text has (:meth:`digest.ranking.rows.DigestRows.keep`). Scoring a reader is a few
  array sums and one sort: no text is read, no vector is built.
- **Interest terms** are a query in the same space (one row per distinct set of
  terms), plus a bonus for naming a term outright; they are blended in and
  dominant while votes are few: with ``n`` votes, their weight is ``2 / (2 + n)``.

Each paper's reason names what put it there: the liked paper it is closest to,
or the interest terms it matches. A reader with no profile gets the listing's
order. Ties keep the listing's order, so the ranking is deterministic. Papers
of the digest the reader already voted for come last, with no reason: they
never take one of the first places (the reader has seen them), and a reason
never names the paper itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from digest.models import Profile
from digest.ranking.rows import DigestRows, query_key, vote_key

#: How many of the history's most recent papers the IDF is fitted on.
IDF_SAMPLE = 5_000
#: In a reader's model, how much the centroid of their dislikes and of the history weigh against their likes.
DISLIKE_WEIGHT = 0.5
HISTORY_WEIGHT = 0.25
#: Interest terms weigh INTEREST_PRIOR / (INTEREST_PRIOR + votes) against the votes.
INTEREST_PRIOR = 2.0
REASON_TITLE_CHARS = 50
REASON_CHARS = 60
#: A reason names the closest of the reader's most recent likes, among this many, when it is at least this close.
NEAREST_AMONG = 20
MIN_REASON_SIMILARITY = 0.05
#: Up to this many papers, a reader's order is sorted without letting go of the interpreter's lock (see best_first).
SORTED_HERE = 256
#: Where the history's scores, weighted, are kept beside a digest's rows (made once, not per reader).
_WEIGHTED_HISTORY = "scaled:history"


@dataclass(frozen=True, slots=True, eq=False)
class Ranking:
    """One reader's order of a digest's papers, and why the first ones are where they are."""

    ranked: np.ndarray  # indexes into the digest's papers (listing order), best first; voted papers last
    reasons: dict[int, str]  # index -> "like “<title>”" or "matches speech, audio", for the top papers
    voted: frozenset[int] = frozenset()  # papers of this digest the reader voted for: never among the first

    @property
    def order(self) -> tuple[int, ...]:
        """The order as plain ints (made by whoever needs it: a sender hands the array to its assemblers)."""
        return tuple(self.ranked.tolist())

    def reason(self, index: int) -> str:
        return self.reasons.get(index, "")


def score(digest: DigestRows, profile: Profile | None, *, explain: int = 20) -> Ranking:
    """The digest's papers, best first for this reader, with reasons for the first ``explain``.

    Every row the profile needs must be in ``digest`` (see :meth:`DigestRows.missing`). No profile (or an
    empty one): the listing's order.
    """
    count = digest.count
    if profile is None or profile.is_empty or count == 0:
        return Ranking(digest.positions, {})
    votes = _vote_scores(digest, profile)
    vote_count = len(profile.likes) + len(profile.dislikes)
    weight = INTEREST_PRIOR / (INTEREST_PRIOR + vote_count) if profile.interests else 0.0
    if profile.interests:
        from_interest = weight * scaled_interest(digest, profile.interests)
    else:
        from_interest = np.zeros(count, dtype=np.float32)
    from_votes = (1.0 - weight) * _scaled(votes)
    voted = digest.voted(profile)
    order = best_first(from_interest + from_votes)  # (voted papers put last below)
    if voted:
        last = np.zeros(count, dtype=bool)
        last[list(voted)] = True
        behind = last[order]
        order = np.concatenate((order[~behind], order[behind]))
    if voted:
        top = np.array([index for index in order[:explain].tolist() if index not in voted], dtype=np.intp)
    else:
        top = order[:explain]
    return Ranking(order, _reasons(digest, profile, top, from_interest, from_votes, votes), voted)


def _reasons(
    digest: DigestRows,
    profile: Profile,
    top: np.ndarray,
    from_interest: np.ndarray,
    from_votes: np.ndarray,
    votes: np.ndarray,
) -> dict[int, str]:
    """Each top paper's reason: the like it is closest to, when the votes put it there; else the terms it names."""
    if not top.size:
        return {}
    nearest = [-1] * top.size
    considered = profile.likes[:NEAREST_AMONG]
    if considered:
        similarity = digest.similarities(considered, top)  # (the top papers' only)
        best = similarity.argmax(axis=0)
        close = similarity.max(axis=0) >= MIN_REASON_SIMILARITY
        liked = close & (from_votes[top] > from_interest[top]) & (votes[top] > 0)
        nearest = np.where(liked, best, -1).tolist()
    return phrase_reasons(digest, profile, top, nearest)


def phrase_reasons(digest: DigestRows, profile: Profile, top: np.ndarray, nearest: list[int]) -> dict[int, str]:
    """Each top paper's reason in words: the like of ``nearest`` (an index into the reader's first
    :data:`NEAREST_AMONG` likes; -1: none), else the interest terms the paper names (else none)."""
    considered = profile.likes[:NEAREST_AMONG]
    interests = profile.interests
    # Per top paper, which of the terms it names (as a tuple of flags: few distinct ones, each phrased once).
    named = list(zip(*(digest.matches(term)[top].tolist() for term in interests), strict=True)) if interests else []
    phrased: dict[tuple[bool, ...], str] = {}
    likes: dict[int, str] = {}
    reasons: dict[int, str] = {}
    for position, index in enumerate(top.tolist()):
        like = nearest[position]
        if like >= 0:
            if like not in likes:
                likes[like] = "like “" + _short(considered[like].title) + "”"
            reasons[index] = likes[like]
        elif named:
            flags = named[position]
            reason = phrased.get(flags)
            if reason is None:
                terms = tuple(term for term, found in zip(interests, flags, strict=True) if found)
                reason = phrased[flags] = _matches(terms) if terms else ""
            if reason:
                reasons[index] = reason
    return reasons


def best_first(scores: np.ndarray) -> np.ndarray:
    """The positions of ``scores``, highest first, ties in the order of their positions: what a stable argsort of
    the negated scores gives, faster (once per message). Each float32 becomes an int32 that sorts as it does (its
    bits, the sign's side turned over for negatives), joined to its position in one int64 key: the keys are
    distinct, so any sort of them gives this one order. numpy's sort of the keys is about four times faster
    than the stable argsort, but lets go of the interpreter's lock, and in a sender whose connection threads
    wait for it, taking it back costs more than the sort: a digest's keys (up to :data:`SORTED_HERE`) are
    sorted as a list, which keeps it (a send of 20,000 personal mails took 5% less time)."""
    if scores.dtype != np.float32 or scores.size >= 2**31:
        return np.argsort(-scores, kind="stable")
    keys = order_keys(scores)
    if scores.size <= SORTED_HERE:
        keys = np.array(sorted(keys.tolist()), dtype=np.int64)
    else:
        keys.sort()
    order: np.ndarray = (keys & 0xFFFFFFFF).astype(np.intp)
    return order


def order_keys(scores: np.ndarray) -> np.ndarray:
    """The int64 key of each float32 score (along the last axis: a row of scores per reader), see
    :func:`best_first`: ascending keys are the scores highest first, ties in the order of their positions."""
    bits = (-scores + np.float32(0)).view(np.int32).astype(np.int64)  # (+0: -0.0 and 0.0 are one key, as ties)
    bits ^= (bits >> 31) & 0x7FFFFFFF
    keys: np.ndarray = (bits << 32) | np.arange(scores.shape[-1], dtype=np.int64)
    return keys


def first_unvoted(ranking: Ranking, count: int, allowed: Collection[int] | None = None) -> int:
    """How many For-you places a reader's first papers can take: at most ``count``, none a voted paper."""
    candidates = len(ranking.ranked) - len(ranking.voted) if allowed is None else len(set(allowed) - ranking.voted)
    return max(0, min(count, candidates))


def _mean_similarity(digest: DigestRows, keys: Sequence[str]) -> np.ndarray:
    """The mean of the rows of ``keys``: each paper's mean similarity to their texts."""
    rows = digest.rows
    total = np.zeros(digest.count, dtype=np.float32)
    for key in keys:
        total += rows[key]
    return total / max(1, len(keys))


def _interest_scores(digest: DigestRows, interests: Sequence[str]) -> np.ndarray:
    if not interests:
        return np.zeros(digest.count, dtype=np.float32)
    scores = _mean_similarity(digest, [query_key(interests)])
    # A paper that names a term outright outranks one that only shares its words.
    for term in interests:
        scores += digest.bonus(term)
    return scores


def scaled_interest(digest: DigestRows, interests: Sequence[str]) -> np.ndarray:
    """The interest scores of these terms, scaled: the same for every reader who gave them, so made once per
    digest and kept beside its rows."""
    key = "scaled:" + query_key(interests)
    found = digest.rows.get(key)
    if found is None:
        found = digest.rows[key] = _scaled(_interest_scores(digest, interests))
    return found


def _vote_scores(digest: DigestRows, profile: Profile) -> np.ndarray:
    """The reader's linear model: their likes' centroid, less part of their dislikes' and the history's."""
    scores = np.zeros(digest.count, dtype=np.float32)
    if profile.likes:
        scores += _mean_similarity(digest, [vote_key(paper) for paper in profile.likes])
        scores -= weighted_history(digest)
    if profile.dislikes:
        scores -= DISLIKE_WEIGHT * _mean_similarity(digest, [vote_key(paper) for paper in profile.dislikes])
    return scores


def weighted_history(digest: DigestRows) -> np.ndarray:
    """The history's scores in the units of the votes' rows, weighted as a reader's model subtracts them (made
    once per digest and kept beside its rows)."""
    weighted = digest.rows.get(_WEIGHTED_HISTORY)
    if weighted is None:
        weighted = digest.rows[_WEIGHTED_HISTORY] = HISTORY_WEIGHT * digest.history
    return weighted


def _scaled(scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by the largest magnitude among them, so that two kinds of score can be blended."""
    top = float(np.abs(scores).max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


@lru_cache(maxsize=65_536)
def _matches(terms: tuple[str, ...]) -> str:
    return _short("matches " + ", ".join(terms), REASON_CHARS)


@lru_cache(maxsize=65_536)
def _short(title: str, limit: int = REASON_TITLE_CHARS) -> str:
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,:;-") + "…"
