"""Papers by the authors a reader follows come first in For you, each with the reason "by <Name>". Pure.

A step of its own, applied to a reader's ranking (:func:`digest.ranking.rank.score`) whatever made its scores:
the followed authors' papers of the digest, newest first and then in the listing's order, go before the rest
of the reader's order (a paper the reader voted for stays where the ranking put it, last). The reason names
the followed authors as the listing writes them.

The digest's authors are read once (:class:`AuthorIndex`, when a mail, a week or a feed is prepared), each
name parsed by :func:`digest.names.parse_name` and indexed by its family name; a reader's follows are then
a dict look-up each, and a reader who follows nobody costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from digest.models import StoredPaper
from digest.names import Name, names_match, parse_name
from digest.ranking.rank import Ranking

#: Followed names whose papers an index keeps (each a short list), for the next reader who follows them.
FOUND_KEPT = 100_000
#: A "by ..." reason is cut to this many characters.
REASON_CHARS = 60


class AuthorIndex:
    """A digest's authors by family name: which followed names wrote which of its papers."""

    def __init__(self, papers: Sequence[StoredPaper]) -> None:
        self.by_family: dict[str, list[tuple[int, int, str, Name]]] = {}  # family -> (paper, place, as written, read)
        self.found: dict[str, list[tuple[int, int, str]]] = {}  # a followed name -> what it wrote
        self.newest: list[int] = []  # per paper: the day it was first seen, as a day number (newest first)
        for index, paper in enumerate(papers):
            self.newest.append(-paper.first_seen_on.toordinal())
            for place, written in enumerate(paper.details.authors):
                name = parse_name(written)
                if name.family:
                    self.by_family.setdefault(name.family, []).append((index, place, written, name))

    def followed(self, follows: Sequence[str]) -> dict[int, str]:
        """The papers any of ``follows`` wrote, each with its reason ("by Ashish Vaswani"), newest first, then
        in the listing's order."""
        found: dict[int, dict[int, str]] = {}
        if not follows:
            return {}
        for follow in follows:
            for index, place, written in self._by(follow):
                found.setdefault(index, {})[place] = written
        return {
            index: _reason([found[index][place] for place in sorted(found[index])])
            for index in sorted(found, key=lambda index: (self.newest[index], index))
        }

    def _by(self, follow: str) -> list[tuple[int, int, str]]:
        """The papers (and the author's place) a followed name wrote; kept for the next reader who follows it."""
        hits = self.found.get(follow)
        if hits is None:
            wanted = parse_name(follow)
            candidates = self.by_family.get(wanted.family, ())
            hits = [(index, place, written) for index, place, written, name in candidates if names_match(name, wanted)]
            if len(self.found) < FOUND_KEPT:
                self.found[follow] = hits
        return hits


def followed_first(ranking: Ranking, followed: Mapping[int, str]) -> Ranking:
    """``ranking`` with the ``followed`` papers (see :meth:`AuthorIndex.followed`) first, with their reasons;
    the papers the reader voted for stay last."""
    first = [index for index in followed if index not in ranking.voted]
    if not first:
        return ranking
    keep = np.ones(len(ranking.ranked), dtype=bool)
    keep[first] = False
    rest = ranking.ranked[keep[ranking.ranked]]
    reasons = {**ranking.reasons, **{index: followed[index] for index in first}}
    return Ranking(np.concatenate([np.array(first, dtype=ranking.ranked.dtype), rest]), reasons, ranking.voted)


def _reason(names: Sequence[str]) -> str:
    text = "by " + ", ".join(" ".join(name.split()) for name in names)
    if len(text) <= REASON_CHARS:
        return text
    cut = text[: REASON_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,") + "…"
