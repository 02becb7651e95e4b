"""The day's papers grouped by topic, each group headed by the terms that set it apart. Pure, deterministic.

- **Features**: each paper's terms (:mod:`digest.ranking.words`: stemmed words
  and short phrases; the title counts twice), weighted by their rarity in the
  history (the document frequencies of its most recent papers, the day's own
  included), so a word most papers use weighs little even on a day that uses it a lot.
- **Groups**: a non-negative matrix factorisation of those features into about
  sqrt(n) topics (so about sqrt(n) papers each; a fixed start, so the same papers
  always give the same groups); each paper joins the topic it weighs most on.
- **Headings**: up to three terms that set the group apart from the history
  (:func:`~digest.ranking.terms.group_terms`: each used by at least half of its
  papers, far more often than in the history, and a content word of theirs). A
  group of fewer than three papers, or one that no such term describes, is not formed.
- **Fit**: a paper stays in its group only when it uses one of its heading's terms;
  one that does not (or whose group is not formed) joins the group whose heading it
  is about (a term in its title, or used twice) and whose papers it is closest to.
  The papers no group holds are factorised again, in further passes, while groups
  form and room is left (:data:`MAX_GROUPS`; when a pass forms more, the largest
  stay); those that fit no group in the end are "Other topics". A group past 30%
  of the papers is split in two. No two groups share a heading term.
- **Large days**: past :data:`~digest.ranking.placing.SAMPLE` papers, all this is
  done on a sample of that many (the same papers always give the same sample), and
  every other paper is placed in its groups by its terms (:mod:`digest.ranking.placing`).

Every reader of a digest, its archive page and its feeds see the same groups.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from digest.models import Topic
from digest.ranking.placing import SAMPLE, is_about, place_rest, sample, uses
from digest.ranking.terms import MIN_COVERAGE, Term, group_terms, literal_form
from digest.ranking.topic_features import topic_features
from digest.ranking.words import DocumentFrequencies, PaperTerms, Titled

#: Fewer papers than this are one group: a table of contents for three papers helps nobody.
MIN_PAPERS = 8
#: At most this many groups, "Other topics" included.
MAX_GROUPS = 12
#: A group holds at least this many papers.
MIN_GROUP = 3
#: A group past this share of the day is split.
MAX_SHARE = 0.3
LABEL_TERMS = 3
OTHER = "Other topics"


def digest_topics(
    papers: Sequence[Titled], frequencies: DocumentFrequencies | None = None, *, sample_size: int = SAMPLE
) -> list[Topic]:
    """A digest's topics: groups of ``papers``, largest first, "Other topics" last; the same for every reader.

    ``frequencies``: the history's document frequencies (of its recent papers' :func:`topic_text`, the
    digest's own among them); without them, the digest's own papers stand in for the history. Past
    ``sample_size`` papers, the groups are found on a sample of that many and the other papers placed in
    them (:mod:`digest.ranking.placing`).
    """
    count = len(papers)
    if count == 0:
        return []
    if count < MIN_PAPERS:
        return [Topic(OTHER, tuple(range(count)))]
    sampled = sample(papers, sample_size)
    read = PaperTerms.shared(papers[i] for i in sampled)
    features = topic_features(read, frequencies)
    if features.matrix.shape[1] == 0:  # no term is shared by two papers
        return [Topic(OTHER, tuple(range(count)))]
    grouping = _Grouping(read, features.matrix, features.frequencies)
    rest = [sampled[i] for i in grouping.run()]
    del read
    groups = [(group.heading, [sampled[i] for i in group.members]) for group in grouping.groups]
    if len(sampled) < count:  # a large day: every other paper placed in the sample's groups
        chosen = set(sampled)
        gained, left = place_rest(papers, [i for i in range(count) if i not in chosen], groups, features, sampled)
        groups = [(heading, sorted([*members, *more])) for (heading, members), more in zip(groups, gained, strict=True)]
        rest += left
    out = [Topic(", ".join(term.text for term in heading), tuple(members)) for heading, members in groups]
    out.sort(key=lambda topic: (-len(topic.members), topic.members[0]))
    if rest:
        out.append(Topic(OTHER, tuple(sorted(rest))))
    return _unique_labels(out)


def group_count(papers: int) -> int:
    """How many topics to look for: about sqrt(n), so that groups hold about sqrt(n) papers each."""
    return max(2, min(MAX_GROUPS - 1, round(math.sqrt(papers))))


@dataclass
class _Group:
    heading: list[Term]
    members: list[int]
    centroid: Any = None  # the members' mean row, while they are ``centroid_of`` in number
    centroid_of: int = -1


class _Grouping:
    """Groups found in passes: each pass factorises the papers no group holds yet, while room is left."""

    def __init__(self, papers: Sequence[PaperTerms], matrix: Any, frequencies: DocumentFrequencies) -> None:
        self.papers = papers
        self.matrix = matrix
        self.frequencies = frequencies
        self.groups: list[_Group] = []
        self.others: Sequence[_Group] = ()  # groups formed elsewhere whose heading terms are taken too

    def heading(self, members: Sequence[int]) -> list[Term]:
        """The terms that set ``members`` apart, none of them another group's (one heading per topic)."""
        if len(members) < MIN_GROUP:
            return []
        taken = [term for group in (*self.groups, *self.others) for term in group.heading]
        return group_terms([self.papers[i] for i in members], self.frequencies, limit=LABEL_TERMS, taken=taken)

    def uses(self, index: int, heading: Sequence[Term]) -> bool:
        return uses(self.papers[index], heading)

    def is_about(self, index: int, heading: Sequence[Term]) -> bool:
        return is_about(self.papers[index], heading)

    def run(self) -> list[int]:
        """Form the groups; the papers that fit none."""
        count = len(self.papers)
        empty = [i for i in range(count) if self.matrix[i].nnz == 0]  # shares no term with another paper
        pending = [i for i in range(count) if self.matrix[i].nnz > 0]
        while len(pending) >= 2 * MIN_GROUP and len(self.groups) < MAX_GROUPS - 1:
            formed = len(self.groups)
            pending = self.form(self.clusters(pending, group_count(len(pending))))
            if len(self.groups) == formed:
                break
            if len(self.groups) > MAX_GROUPS - 1:  # more formed than there is room for: the largest stay
                self.groups.sort(key=lambda group: -len(group.members))
                pending += [index for group in self.groups[MAX_GROUPS - 1 :] for index in group.members]
                self.groups = self.groups[: MAX_GROUPS - 1]
        pending += self.split_large(count)
        return sorted(pending + empty)

    def clusters(self, members: Sequence[int], k: int) -> list[list[int]]:
        """``members`` factorised into ``k`` topics, each paper in the one it weighs most on."""
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        sub = self.matrix[list(members)]
        k = max(1, min(k, sub.shape[0], sub.shape[1]))
        with warnings.catch_warnings():  # short of full convergence, or exact, the groups are as good: no noise
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            weights = NMF(n_components=k, init="nndsvd", max_iter=400, random_state=0).fit_transform(sub)
        best = np.asarray(weights).argmax(axis=1)
        return [[members[int(i)] for i in np.flatnonzero(best == topic)] for topic in range(k)]

    def form(self, clusters: Sequence[Sequence[int]]) -> list[int]:
        """Head the clusters that some terms describe; place every other paper; return those that fit nowhere."""
        misfits: list[int] = []
        for members in sorted(clusters, key=lambda members: (-len(members), members)):
            heading = self.heading(members)
            if not heading:  # its papers may still fit a group that is formed
                misfits.extend(members)
                continue
            self.groups.append(_Group(heading, [i for i in members if self.uses(i, heading)]))
            misfits.extend(i for i in members if not self.uses(i, heading))
        rest = [index for index in sorted(misfits) if not self.place(index)]
        return rest + self.settle()

    def place(self, index: int) -> bool:
        """Put a paper in the group whose heading it uses and whose papers it is closest to."""
        options = [group for group in self.groups if self.is_about(index, group.heading)]
        if not options:
            return False
        max(options, key=lambda group: self.affinity(index, group)).members.append(index)
        return True

    def affinity(self, index: int, group: _Group) -> float:
        if group.centroid_of != len(group.members):  # members are only ever added: their number says
            group.centroid = np.asarray(self.matrix[group.members].mean(axis=0)).ravel()
            group.centroid_of = len(group.members)
        return float((self.matrix[index] @ group.centroid)[0])

    def settle(self) -> list[int]:
        """Keep the heading terms that still describe half of each group; papers they do not describe leave.

        (A paper placed in a group uses one of its heading's terms, not always the others.) Papers leaving
        only raise the share of the terms kept, so one round settles every group.
        """
        rest: list[int] = []
        kept = []
        for group in self.groups:
            members = sorted(group.members)
            heading = []
            for term in group.heading:
                text, used = literal_form(term.key, [self.papers[i] for i in members])
                if used >= MIN_COVERAGE * len(members):
                    heading.append(dataclasses.replace(term, text=text, coverage=used / len(members)))
            fits = [i for i in members if self.uses(i, heading)]
            if len(fits) < MIN_GROUP:
                rest.extend(members)
                continue
            fitting = set(fits)
            rest.extend(i for i in members if i not in fitting)
            kept.append(_Group(heading, fits))
        self.groups = kept
        return rest

    def split_large(self, count: int) -> list[int]:
        """Split each group past :data:`MAX_SHARE` of the papers in two, while there is room; papers left over."""
        left: list[int] = []
        for group in sorted(self.groups, key=lambda group: -len(group.members)):
            if len(group.members) <= MAX_SHARE * count or len(self.groups) >= MAX_GROUPS - 1:
                continue
            halves = _Grouping(self.papers, self.matrix, self.frequencies)
            halves.others = [other for other in self.groups if other is not group]
            rest = halves.form(halves.clusters(group.members, 2))
            if len(halves.groups) < 2:
                continue  # no clean split: the group stays whole
            self.groups = [other for other in self.groups if other is not group] + halves.groups
            left.extend(rest)
        return left


def _unique_labels(groups: list[Topic]) -> list[Topic]:
    seen: dict[str, int] = {}
    out = []
    for topic in groups:
        number = seen.get(topic.label, 0) + 1
        seen[topic.label] = number
        out.append(topic if number == 1 else Topic(f"{topic.label} ({number})", topic.members))
    return out
