"""A reader's themes: their likes and interest terms in groups that are clearly apart, and For you shared
between them. Pure numpy: what it reads are a digest's rows (see :mod:`digest.ranking.rows`).

- **Likes** (the reader's :data:`THEMED` most recent) are grouped by how they depart from the history's
  typical paper: each like's row (its similarity to each of the digest's papers) less the history's row (each
  paper's similarity to the history's centroid, i.e. to the typical paper). Two groups merge, closest first
  (centroid linkage), while their departures point the same way (a positive cosine): likes of one subject
  lean towards the same papers, likes of two subjects towards different ones.
- **Interest terms** join the theme whose likes name them most; a term no like names joins the theme of the
  most likes. A reader without likes has one theme: a few words say too little to tell themes apart.
- **Sharing For you** (:func:`share`): each theme ranks its own papers (those it scores best), and the first
  places go round the themes that have candidates: one each first (largest theme first), then in proportion
  to their size (likes and terms), by the Sainte-Laguë rule.

A themes row is computed once per digest and reader (at publish, or when a vote comes in) and kept like any
row: a float32 label per recent like, then per interest term.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from digest.models import Profile

#: How many of a reader's most recent likes are grouped into themes (older ones weigh in the overall model).
THEMED = 20
#: Two groups of likes agree clearly when their correlation is this many standard errors above none (95%).
CLEAR = 1.96


def grouped(profile: Profile) -> bool:
    """Whether a reader has likes to group: two themes need two likes each (see :func:`like_groups`)."""
    return len(profile.likes[:THEMED]) >= 4


def themes_key(profile: Profile) -> str:
    """The row key of a reader's themes: their recent likes and their interest terms, hashed."""
    text = "\x1f".join(paper.text_key for paper in profile.likes[:THEMED]) + "\x1e" + "\x1f".join(profile.interests)
    return "themes:" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def group(like_rows: np.ndarray | None, history: np.ndarray, named_by_likes: Sequence[np.ndarray]) -> np.ndarray:
    """Each like's theme (``like_rows``: one row per like), then each term's, as float32 labels 0, 1, ...

    ``named_by_likes``: per term, which likes name it. A term no like names joins the theme of the most likes
    (a reader without likes has one theme: a few words say too little to tell themes apart)."""
    likes = like_groups(like_rows, history) if like_rows is not None else np.zeros(0, dtype=np.intp)
    largest = int(np.bincount(likes).argmax()) if likes.size else 0
    terms = np.full(len(named_by_likes), largest, dtype=np.intp)
    for number, named in enumerate(named_by_likes):
        if likes.size and named.any():
            terms[number] = int(np.bincount(likes[named], minlength=largest + 1).argmax())
    return np.concatenate([likes, terms]).astype(np.float32)


def like_groups(rows: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Groups of likes whose departures from the history's typical paper clearly agree: centroid linkage while
    two groups' departures correlate clearly (beyond what :data:`CLEAR` standard errors of a correlation over
    the digest's papers would give by chance). A like that joins no other belongs to the group it agrees with
    most; fewer than two groups of two make one theme."""
    departures = rows.astype(np.float64) - history
    departures -= departures.mean(axis=1, keepdims=True)
    gram = departures @ departures.T
    clearly = CLEAR / np.sqrt(max(1, rows.shape[1] - 3))  # (the Fisher z of a correlation with no relation)
    members = np.eye(len(rows))
    while members.shape[0] > 1:
        cosine = _cosines(members @ gram @ members.T)
        cosine[np.tril_indices(cosine.shape[0])] = -np.inf
        first, second = np.unravel_index(int(cosine.argmax()), cosine.shape)
        if cosine[first, second] <= clearly:
            break
        members[first] += members[second]
        members = np.delete(members, second, axis=0)
    groups = members.sum(axis=1) >= 2
    if groups.sum() < 2:
        return np.zeros(len(rows), dtype=np.intp)
    agreement = _cosines(members @ gram @ members.T)[:, groups]  # (each group's, with the groups of two or more)
    home = np.flatnonzero(groups)[agreement.argmax(axis=1)]
    labels = home[members.argmax(axis=0)]
    _, first_seen = np.unique(labels, return_index=True)  # (numbered by their most recent like)
    renumber = np.empty(labels.max() + 1, dtype=np.intp)
    renumber[labels[np.sort(first_seen)]] = np.arange(first_seen.size)
    return np.asarray(renumber[labels], dtype=np.intp)


def _cosines(sums: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.maximum(np.diag(sums), 1e-12))
    return np.asarray(sums / np.outer(norms, norms))


def share(queues: Sequence[np.ndarray], sizes: Sequence[float], places: int) -> dict[int, int]:
    """The first ``places`` papers taken from each theme's queue (best first): one each while every theme
    with candidates has had none (the largest theme first), then by the Sainte-Laguë rule on ``sizes``.
    Returns each paper taken, in order, and the theme that took it."""
    lists = [queue.tolist() for queue in queues]
    turns = sorted(range(len(lists)), key=lambda theme: (-sizes[theme], theme))
    taken = [0] * len(lists)
    picked: dict[int, int] = {}

    def take(theme: int) -> None:
        mine = lists[theme]
        while taken[theme] < len(mine) and mine[taken[theme]] in picked:
            taken[theme] += 1  # (a paper another theme took already)
        if taken[theme] < len(mine):
            picked[mine[taken[theme]]] = theme
            taken[theme] += 1

    for theme in turns:
        if len(picked) < places:
            take(theme)
    while len(picked) < places:
        left = [theme for theme in turns if taken[theme] < len(lists[theme])]
        if not left:
            break
        take(max(left, key=lambda theme: sizes[theme] / (2 * taken[theme] + 1)))
    return picked
