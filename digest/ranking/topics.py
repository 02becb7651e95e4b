"""The day's papers grouped by topic, each group labelled by its top terms. Pure and deterministic.

The papers' titles and abstracts become TF-IDF vectors over a vocabulary of
their own (words common to most of the day's papers carry no topic and are
left out), clustered with k-means (a fixed seed, so the same papers always
give the same groups) into about sqrt(n / 2) groups. A group is labelled by
the terms that weigh most in its centroid above their weight over the whole day. Groups of one paper are gathered
in a last group, "Other topics". Every reader of a digest and its archive page
see the same groups.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from digest.models import Topic

#: Fewer papers than this are one group: a table of contents for three papers helps nobody.
MIN_PAPERS = 8
_URL = re.compile(r"\S+://\S+|\bwww\.\S+")  # "github.com" names no topic
MAX_GROUPS = 12
LABEL_TERMS = 3
OTHER = "Other topics"
#: Words that say what kind of text an abstract is, not what it is about.
_BOILERPLATE = frozenset(
    "paper propose proposed proposes method methods approach approaches results result show shows novel "
    "existing performance work new based using use used task tasks framework study model models data "
    "demonstrate experiments state art significantly improve improves improved introduce present".split()
)


class Titled(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def abstract(self) -> str: ...


def digest_topics(papers: Sequence[Titled]) -> list[Topic]:
    """A digest's topics: the same groups in every reader's mail and on its archive page."""
    return topics([_URL.sub(" ", f"{paper.title}. {paper.abstract}") for paper in papers])


def group_count(papers: int) -> int:
    return max(1, min(MAX_GROUPS, round(math.sqrt(papers / 2))))


def topics(texts: Sequence[str]) -> list[Topic]:
    """Groups of ``texts`` (each a paper's title and abstract), largest first; one group when few."""
    count = len(texts)
    if count == 0:
        return []
    if count < MIN_PAPERS:
        return [Topic(OTHER, tuple(range(count)))]
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    vectoriser = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | _BOILERPLATE),
        sublinear_tf=True,
        min_df=2,
        max_df=0.25,
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[^\W\d_][\w-]*[^\W_]\b",
    )
    try:
        matrix = vectoriser.fit_transform(texts)
    except ValueError:  # no term is shared by two papers
        return [Topic(OTHER, tuple(range(count)))]
    terms = vectoriser.get_feature_names_out()
    k = min(group_count(count), matrix.shape[1], len(set(texts)))
    with warnings.catch_warnings():  # papers that read alike make fewer groups than asked: no noise under cron
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=k, n_init=10, random_state=0).fit(matrix)
    overall = np.asarray(matrix.mean(axis=0)).ravel()  # a label names what sets a group apart
    groups: list[Topic] = []
    rest: list[int] = []
    for cluster in range(k):
        members = tuple(int(index) for index in np.flatnonzero(model.labels_ == cluster))
        if len(members) < 2:
            rest.extend(members)
            continue
        centroid = np.asarray(matrix[list(members)].mean(axis=0)).ravel()
        groups.append(Topic(_label(centroid - overall, terms), members))
    groups.sort(key=lambda topic: (-len(topic.members), topic.members[0]))
    if rest:
        groups.append(Topic(OTHER, tuple(sorted(rest))))
    return _unique_labels(groups)


def _label(centroid: np.ndarray, terms: Sequence[str]) -> str:
    chosen: list[str] = []
    for index in np.argsort(-centroid, kind="stable"):
        if centroid[index] <= 0 or len(chosen) == LABEL_TERMS:
            break
        term = str(terms[index])
        if any(term in other or other in term for other in chosen):
            continue  # "language" beside "language models" says nothing more
        chosen.append(term)
    return ", ".join(chosen) or OTHER


def _unique_labels(groups: list[Topic]) -> list[Topic]:
    seen: dict[str, int] = {}
    out = []
    for topic in groups:
        number = seen.get(topic.label, 0) + 1
        seen[topic.label] = number
        out.append(topic if number == 1 else Topic(f"{topic.label} ({number})", topic.members))
    return out
