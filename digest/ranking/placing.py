"""The topics of a large day: groups found on a sample of its papers, every other paper placed by its terms. Pure.

Past :data:`SAMPLE` papers, the groups and their headings are found on a sample of
that many (the papers first in the order of a hash of their text: the same papers
always give the same sample, whatever the listing's order), and each other paper is
placed as the sample's papers were: it joins the group whose papers it is closest
to (the cosine of its terms' row with the group's mean row) when it uses one of
that group's heading terms; else the group whose heading it is about (a term in its
title, or used twice) and whose papers it is closest to; else "Other topics". The
papers are read a batch at a time, so a large day never holds every paper's terms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from digest.ranking.terms import Term
from digest.ranking.topic_features import TopicFeatures
from digest.ranking.words import PaperTerms, Titled, topic_text

#: The groups and their headings are found on at most this many papers.
SAMPLE = 2_000
#: Papers past the sample are read and placed this many at a time.
BATCH = 1_000


def sample(papers: Sequence[Titled], size: int = SAMPLE) -> list[int]:
    """The indices of the papers the groups are found on, in the papers' order: all, or ``size`` of them."""
    if len(papers) <= size:
        return list(range(len(papers)))
    order = sorted(range(len(papers)), key=lambda i: (_text_hash(papers[i]), i))
    return sorted(order[:size])


def _text_hash(paper: Titled) -> bytes:
    return hashlib.blake2b(topic_text(paper.title, paper.abstract).encode("utf-8"), digest_size=8).digest()


def uses(paper: PaperTerms, heading: Sequence[Term]) -> bool:
    """Whether the paper uses one of the heading's terms."""
    return any(term.key in paper.counts for term in heading)


def is_about(paper: PaperTerms, heading: Sequence[Term]) -> bool:
    """Whether the paper is about one of the heading's terms: it has it in its title, or uses it twice
    (a cosmology paper that mentions a "preference" once is not about preferences)."""
    return any(term.key in paper.title or paper.counts.get(term.key, 0) >= 2 for term in heading)


def place_rest(
    papers: Sequence[Titled],
    rest: Sequence[int],
    groups: Sequence[tuple[Sequence[Term], Sequence[int]]],
    features: TopicFeatures,
    sampled: Sequence[int],
) -> tuple[list[list[int]], list[int]]:
    """Place the papers ``rest`` in ``groups`` (each a heading and its members, as rows of ``features`` over
    the papers ``sampled``): the papers each group gains, and those that fit none."""
    gained: list[list[int]] = [[] for _ in groups]
    if not groups:
        return gained, list(rest)
    position = {index: row for row, index in enumerate(sampled)}
    centroids = np.vstack(
        [np.asarray(features.matrix[[position[i] for i in members]].mean(axis=0)).ravel() for _, members in groups]
    ).astype(np.float32)
    left: list[int] = []
    for start in range(0, len(rest), BATCH):
        batch = rest[start : start + BATCH]
        read = [PaperTerms.of(papers[i].title, papers[i].abstract) for i in batch]
        closeness = np.asarray(features.rows(read) @ centroids.T)
        for index, paper, close in zip(batch, read, closeness, strict=True):
            group = _group_of(paper, close, [heading for heading, _ in groups])
            (left if group is None else gained[group]).append(index)
    return gained, left


def _group_of(paper: PaperTerms, closeness: Any, headings: Sequence[Sequence[Term]]) -> int | None:
    nearest = int(np.argmax(closeness))
    if closeness[nearest] > 0 and uses(paper, headings[nearest]):
        return nearest
    options = [number for number, heading in enumerate(headings) if is_about(paper, heading)]
    return max(options, key=lambda number: (closeness[number], -number)) if options else None
