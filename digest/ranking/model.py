"""A reader's linear model, shared by the one-theme and the several-theme scorers: its weights, how two
kinds of score are blended, and how a reason is written."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from digest.ranking.themes import THEMED

#: In a reader's model, how much the centroid of their dislikes and of the history weigh against their likes.
DISLIKE_WEIGHT = 0.5
HISTORY_WEIGHT = 0.25
#: Interest terms weigh INTEREST_PRIOR / (INTEREST_PRIOR + votes) against the votes.
INTEREST_PRIOR = 2.0
REASON_TITLE_CHARS = 50
REASON_CHARS = 60
#: A reason names the closest of the reader's most recent likes, among this many, when it is at least this close.
NEAREST_AMONG = THEMED
MIN_REASON_SIMILARITY = 0.05


def interest_weight(terms: int, votes: int) -> float:
    """How much interest terms weigh against ``votes`` votes: :data:`INTEREST_PRIOR` / (it + votes)."""
    return INTEREST_PRIOR / (INTEREST_PRIOR + votes) if terms else 0.0


def scaled(scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by the largest magnitude among them, so that two kinds of score can be blended."""
    top = float(np.abs(scores).max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


def best_first(scores: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Indexes by descending score, ties in the listing's order; those of ``last`` after all others."""
    order = np.argsort(-scores, kind="stable")
    if last is not None:
        after = last[order]
        order = np.concatenate([order[~after], order[after]])
    return order


def like_reason(title: str) -> str:
    return "like “" + short(title) + "”"


@lru_cache(maxsize=65_536)
def matches_reason(terms: tuple[str, ...]) -> str:
    return short("matches " + ", ".join(terms), REASON_CHARS)


@lru_cache(maxsize=65_536)
def short(title: str, limit: int = REASON_TITLE_CHARS) -> str:
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,:;-") + "…"
