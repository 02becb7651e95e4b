"""Ranking a reader of several themes (see :mod:`digest.ranking.themes`). Pure numpy, a few array operations.

Each theme is the reader's model on its own: the centroid of the theme's likes less part of the history's and
of the dislikes', blended with the mean of the theme's terms' queries (and their bonus for naming a term) by
the usual weight. Each theme's best papers are its candidates; the first places are shared between the
themes (:func:`digest.ranking.themes.share`), and the rest follow by their best theme's score. A paper's
reason names the theme that placed it: its closest like of that theme, or the theme's terms it names.
"""

from __future__ import annotations

import numpy as np

from digest.models import Profile
from digest.ranking.model import (
    DISLIKE_WEIGHT,
    HISTORY_WEIGHT,
    INTEREST_PRIOR,
    MIN_REASON_SIMILARITY,
    best_first,
    like_reason,
    matches_reason,
)
from digest.ranking.rows import DigestRows, query_key
from digest.ranking.themes import THEMED, share


def themed(
    digest: DigestRows, profile: Profile, labels: np.ndarray, last: np.ndarray, explain: int
) -> tuple[np.ndarray, dict[int, str]]:
    """The order of a reader of several themes (``labels``: see :func:`~digest.ranking.themes.group`), and the
    reasons of its first ``explain`` papers. ``last``: the papers the reader voted for."""
    rows = digest.rows
    recent = profile.likes[:THEMED]
    like_labels = labels[: len(recent)].astype(np.intp)
    term_labels = labels[len(recent) :].astype(np.intp)
    themes = np.arange(int(labels.max()) + 1)[:, None]
    likes = np.stack([rows[paper.text_key] for paper in recent])
    members = (like_labels == themes).astype(np.float32)
    sizes = members.sum(axis=1)
    votes = (members @ likes) / np.maximum(sizes, 1)[:, None]
    votes -= np.where(sizes > 0, HISTORY_WEIGHT, 0.0).astype(np.float32)[:, None] * digest.history_scores
    if profile.dislikes:
        votes -= DISLIKE_WEIGHT * np.mean([rows[paper.text_key] for paper in profile.dislikes], axis=0)
    interest = np.zeros_like(votes)
    terms = (term_labels == themes).astype(np.float32)
    named = terms.sum(axis=1)
    if profile.interests:
        queries = np.stack([rows[query_key((term,))] for term in profile.interests])
        bonuses = np.stack([digest.bonus(term) for term in profile.interests]).astype(np.float32)
        interest = (terms @ queries) / np.maximum(named, 1)[:, None] + terms @ bonuses
    prior = INTEREST_PRIOR / (INTEREST_PRIOR + sizes + len(profile.dislikes))
    weight = np.where(named > 0, prior, 0.0).astype(np.float32)[:, None]
    from_interest = weight * _scaled(interest)
    from_votes = (1.0 - weight) * _scaled(votes)
    totals = from_interest + from_votes
    best = totals.argmax(axis=0)
    top = totals[best, digest.positions]
    order = best_first(top, last)
    picked = share(_queues(digest, totals, last, explain), (sizes + named).tolist(), explain)
    if picked:
        first = np.fromiter(picked, dtype=np.intp, count=len(picked))
        placed = np.zeros(digest.count, dtype=bool)
        placed[first] = True
        order = np.concatenate([first, order[~placed[order]]])
        best[first] = list(picked.values())
    shown = order[:explain]
    shown = shown[~last[shown]]
    if not shown.size:
        return order, {}
    theme = best[shown]
    similarity = np.where(like_labels[:, None] == theme, likes[:, shown], -np.inf)
    nearest = similarity.argmax(axis=0)
    close = similarity[nearest, np.arange(shown.size)] >= MIN_REASON_SIMILARITY
    liked = close & (from_votes[theme, shown] > from_interest[theme, shown]) & (votes[theme, shown] > 0)
    matched = [
        (term, label, digest.matches(term)[shown]) for term, label in zip(profile.interests, term_labels, strict=True)
    ]
    reasons: dict[int, str] = {}
    for position, index in enumerate(shown.tolist()):
        if liked[position]:
            reasons[index] = like_reason(recent[int(nearest[position])].title)
            continue
        found = tuple(term for term, label, hit in matched if label == theme[position] and hit[position])
        if found:
            reasons[index] = matches_reason(found)
    return order, reasons


def _queues(digest: DigestRows, totals: np.ndarray, last: np.ndarray, explain: int) -> list[np.ndarray]:
    """Each theme's best papers, best first: scored above nothing, not voted, enough to fill the places."""
    masked = np.where(last | (totals <= 0), -np.inf, totals)
    length = min(digest.count, 2 * explain)
    if length < digest.count:
        candidates = np.argpartition(-masked, length - 1, axis=1)[:, :length]
    else:
        candidates = np.broadcast_to(digest.positions, masked.shape)
    queues = []
    for theme, found in enumerate(candidates):
        scores = masked[theme, found]
        found = found[np.lexsort([found, -scores])]  # (a few dozen)
        queues.append(found[np.isfinite(masked[theme, found])])
    return queues


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Each theme's scores divided by their largest magnitude (see :func:`digest.ranking.model.scaled`)."""
    top = np.abs(scores).max(axis=1, keepdims=True)
    return scores / np.where(top > 0, top, 1.0)
