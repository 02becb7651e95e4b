"""Ranking a batch of readers at once: for each, exactly the order and reasons :func:`digest.ranking.rank.score`
gives, bit for bit, in a few array operations for the whole batch instead of some forty per reader. Pure.

A send ranks its readers a batch at a time. One reader's ranking is a few sums of rows and a sort of a
digest's papers, and numpy's fixed cost per call outweighs the work itself, so every step here runs on a
row per reader. Each step does the same float32 operations, in the same order, as :func:`score` does for one
reader: a sum of rows adds them one by one from the first (the padding that evens out the readers' vote counts
adds 0.0, which changes no sum), a scale divides by the same value, and so on. Only the sign of a zero may
differ, and no comparison, order or reason can tell the two zeros apart. ``tests/test_rank_many.py`` holds
it to :func:`score` on random digests and profiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.models import Profile
from digest.ranking.rank import (
    DISLIKE_WEIGHT,
    INTEREST_PRIOR,
    MIN_REASON_SIMILARITY,
    NEAREST_AMONG,
    Ranking,
    order_keys,
    phrase_reasons,
    scaled_interest,
    weighted_history,
)
from digest.ranking.rows import DigestRows, query_key, vote_key


def score_many(digest: DigestRows, profiles: Sequence[Profile | None], explains: Sequence[int]) -> list[Ranking]:
    """Each reader's :func:`score` (with reasons for their first ``explains[i]`` papers), in their order.

    Every row the profiles need must be in ``digest`` (see :meth:`DigestRows.missing`); an explain is 0 or more.
    """
    if len(explains) != len(profiles):
        raise ValueError(f"{len(profiles)} readers but {len(explains)} explain counts")
    rankings = [Ranking(digest.positions, {}) for _ in profiles]
    batch = [number for number, profile in enumerate(profiles) if profile is not None and not profile.is_empty]
    if not batch or digest.count == 0:
        return rankings
    readers: list[Profile] = [profile for profile in profiles if profile is not None and not profile.is_empty]
    for number, ranking in zip(batch, _rank(digest, readers, [explains[number] for number in batch]), strict=True):
        rankings[number] = ranking
    return rankings


def _rank(digest: DigestRows, profiles: Sequence[Profile], explains: Sequence[int]) -> list[Ranking]:
    """The rankings of readers who all have a profile: scores, orders, then reasons, a row per reader."""
    voting = _Votes(digest, profiles)
    votes = voting.mean("likes")
    votes[[bool(profile.likes) for profile in profiles]] -= weighted_history(digest)  # (readers who like something)
    if any(profile.dislikes for profile in profiles):
        votes -= DISLIKE_WEIGHT * voting.mean("dislikes")
    weights = [
        INTEREST_PRIOR / (INTEREST_PRIOR + len(profile.likes) + len(profile.dislikes)) if profile.interests else 0.0
        for profile in profiles
    ]
    from_interest = np.array(weights, dtype=np.float32)[:, None] * _interest_rows(digest, profiles)
    tops = np.abs(votes).max(axis=1)
    scaled = votes / np.where(tops > 0, tops, np.float32(1))[:, None]
    from_votes = np.array([1.0 - weight for weight in weights], dtype=np.float32)[:, None] * scaled
    keys = order_keys(from_interest + from_votes)
    keys.sort(axis=1)
    order = (keys & 0xFFFFFFFF).astype(np.intp)
    voted = [digest.voted(profile) for profile in profiles]
    if any(voted):  # (a reader's voted papers go last, the others keeping their order)
        last = np.zeros(order.shape, dtype=bool)
        for reader, papers in enumerate(voted):
            last[reader, list(papers)] = True
        behind = np.take_along_axis(last, order, axis=1)
        order = np.take_along_axis(order, np.argsort(behind, axis=1, kind="stable"), axis=1)
    # The papers given a reason: the first ``explain``, none the reader voted for (they are last now).
    explained = [min(explain, digest.count - len(papers)) for explain, papers in zip(explains, voted, strict=True)]
    liked = (from_votes > from_interest) & (votes > 0)
    nearest = voting.nearest(order[:, : max(explained)], liked)
    return [
        Ranking(order[reader], phrase_reasons(digest, profile, order[reader, :count], nearest[reader][:count]), papers)
        if count > 0
        else Ranking(order[reader], {}, papers)
        for reader, (profile, count, papers) in enumerate(zip(profiles, explained, voted, strict=True))
    ]


class _Votes:
    """A batch's likes and dislikes, by reader, as rows of the digest (read where they are held: a batch of
    readers who voted for hundreds of papers each copies a column of rows at a time, never all of them)."""

    def __init__(self, digest: DigestRows, profiles: Sequence[Profile]) -> None:
        self.rows = digest.rows
        self.spreads = digest.spreads
        self.likes = [[vote_key(paper) for paper in profile.likes] for profile in profiles]
        self.dislikes = [[vote_key(paper) for paper in profile.dislikes] for profile in profiles]
        self.zero = np.zeros(digest.count, dtype=np.float32)

    def mean(self, kind: str) -> np.ndarray:
        """Per reader, the mean of their rows of ``kind`` (zeros for none), summed one row at a time in order (a
        reader with fewer adds zeros, which change no sum)."""
        lists = self.likes if kind == "likes" else self.dislikes
        rows, zero = self.rows, self.zero
        total = np.array([rows[keys[0]] if keys else zero for keys in lists])
        for column in range(1, max(map(len, lists))):
            total += np.array([rows[keys[column]] if column < len(keys) else zero for keys in lists])
        counts = np.array([max(1, len(keys)) for keys in lists], dtype=np.float32)
        mean: np.ndarray = total / counts[:, None]
        return mean

    def nearest(self, tops: np.ndarray, liked: np.ndarray) -> list[list[int]]:
        """Per reader and paper of ``tops`` (a row of papers per reader), the position among their first
        :data:`NEAREST_AMONG` likes of the one it is closest to, when that is close enough and ``liked`` says the
        votes put the paper there; else -1. As :func:`digest.ranking.rank._reasons` finds it for one reader."""
        lists = [keys[:NEAREST_AMONG] for keys in self.likes]
        width = max(map(len, lists))
        if width == 0 or tops.shape[1] == 0:
            return [[-1] * tops.shape[1] for _ in lists]
        positions: dict[str, int] = {}
        padded = [[positions.setdefault(key, len(positions)) for key in keys] for keys in lists]
        table = np.zeros((len(positions) + 1, len(self.zero)), dtype=np.float32)  # (a zero row last: padding)
        table[:-1] = np.array([self.rows[key] for key in positions])
        spreads = np.array([*(self.spreads[key] for key in positions), 1.0], dtype=np.float32)
        at = np.array([[*keys, *[len(positions)] * (width - len(keys))] for keys in padded], dtype=np.intp)
        similarity = table[at[:, :, None], tops[:, None, :]]  # reader x like x paper
        similarity *= spreads[at][:, :, None]
        held = np.array([[column < len(keys) for column in range(width)] for keys in padded])
        similarity = np.where(held[:, :, None], similarity, np.float32(-np.inf))  # (padding is never nearest)
        close = similarity.max(axis=1) >= MIN_REASON_SIMILARITY
        found: list[list[int]] = np.where(
            close & np.take_along_axis(liked, tops, axis=1), similarity.argmax(axis=1), -1
        ).tolist()
        return found


def _interest_rows(digest: DigestRows, profiles: Sequence[Profile]) -> np.ndarray:
    """Each reader's scaled interest scores (zeros for a reader without interests)."""
    queries: dict[str, int] = {}
    rows: list[np.ndarray] = [np.zeros(digest.count, dtype=np.float32)]
    chosen = []
    for profile in profiles:
        if not profile.interests:
            chosen.append(0)
            continue
        key = query_key(profile.interests)
        if key not in queries:
            queries[key] = len(rows)
            rows.append(scaled_interest(digest, profile.interests))
        chosen.append(queries[key])
    table = np.array(rows)
    found: np.ndarray = table[chosen]
    return found
