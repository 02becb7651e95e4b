"""The similarity rows a digest's ranking reads, and their keys. Pure.

A digest's rows are made once (:mod:`digest.ranking.features`, when it is published or a vote comes in) and
kept (:mod:`digest.ranking.kept`); :mod:`digest.ranking.rank` scores a reader from them. A row is keyed by
what it is the similarity to: a voted paper's text (:func:`vote_key`), a reader's interest terms taken
together (:func:`query_key`), or which papers name one term outright (:func:`term_key`).

A voted paper's row is kept in units of its spread (:meth:`DigestRows.keep`): its similarities to the
digest's papers divided by their interquartile range, and that range beside it (:func:`spread_key`), for
what needs the similarity itself (a reason). A long abstract full of common words is a little similar to everything, a
short one barely similar to anything; divided so, each vote says as much as any other about which papers are
closer than usual, and none outweighs the others in a reader's centroid. The interquartile range is robust:
the voted paper's similarity to itself, when it is in the digest, does not move it. The history's scores are
read the same way (:attr:`DigestRows.history`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from digest.listings.identity import title_key
from digest.models import Profile, StoredPaper, VotedPaper

#: A paper that names an interest term outright gets this much on top of its similarity to the query.
TERM_BONUS = 0.05
#: The prefix of a voted paper's row key (rows kept before they were in units of their spread had none).
VOTE = "vote:"
#: The prefix of the store's key of a voted paper's spread.
SPREAD = "spread:"
#: The prefix of a term's row: a bool per paper, where other rows are float32.
TERM = "term:"


def paper_text(title: str, abstract: str) -> str:
    """What a paper is ranked by: its title (twice: it says most in fewest words) and its abstract."""
    return f"{title}. {title}. {abstract}"


def vote_key(paper: VotedPaper) -> str:
    """The row key of a voted paper's text (kept in units of its spread: see :meth:`DigestRows.keep`)."""
    return VOTE + paper.text_key


def spread_key(key: str) -> str:
    """Where the spread a voted paper's row (under ``key``) was divided by is kept in the store."""
    return SPREAD + key.removeprefix(VOTE)


def in_spread(scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by their spread (see :func:`spreads`)."""
    divided: np.ndarray = scores / spreads(scores[None, :])[0]
    return divided


def spreads(block: np.ndarray) -> np.ndarray:
    """Each row's interquartile range (its standard deviation when half of it or more is equal, as in a digest
    of a few papers; 1 when all of it is), float32: a few thousand rows at a time, whatever the block's size."""
    found = np.ones(block.shape[0], dtype=np.float32)
    if not block.size:
        return found
    for start in range(0, block.shape[0], _SPREADS_AT_ONCE):
        part = block[start : start + _SPREADS_AT_ONCE]
        low, high = np.percentile(part, [25, 75], axis=1)
        ranges = (high - low).astype(np.float32)
        flat = ranges <= 0
        if flat.any():
            ranges[flat] = np.std(part[flat], axis=1)
        found[start : start + part.shape[0]] = np.where(ranges > 0, ranges, 1.0)
    return found


#: Rows whose spreads are found at a time (bounds the copies a percentile makes).
_SPREADS_AT_ONCE = 2_000


def query_key(interests: Sequence[str]) -> str:
    """The row key of a reader's interest terms taken together, as a query."""
    return "query:" + "\x1f".join(interests)


def term_key(term: str) -> str:
    """The row key of which papers name ``term`` outright."""
    return TERM + term


def wanted_texts(profile: Profile) -> dict[str, str]:
    """The rows a profile needs that come from vectorising a text: its voted papers and its query, by key."""
    wanted = {vote_key(paper): paper_text(paper.title, paper.abstract) for paper in (*profile.likes, *profile.dislikes)}
    if profile.interests:
        wanted[query_key(profile.interests)] = " ".join(profile.interests)
    return wanted


def term_matches(term: str, texts: Sequence[str]) -> np.ndarray:
    """Which of ``texts`` (lower-cased, see :func:`match_text`) name ``term``: whole words, plurals too."""
    pattern = _term_pattern(term)
    words = term.casefold().split()
    first = words[0] if words else ""  # (a text without the term's first word cannot match: no search needed)
    return np.fromiter((first in text and bool(pattern.search(text)) for text in texts), dtype=bool, count=len(texts))


def match_text(paper: StoredPaper) -> str:
    """A paper's title and abstract as interest terms are matched against."""
    return " ".join(paper_text(paper.title, paper.abstract).casefold().split())


@dataclass
class DigestRows:
    """What ranking needs of one digest, for any reader: each paper's similarity to the history's centroid,
    the papers' identities (to know which ones a reader voted for), rows by key (see :func:`wanted_texts`,
    :func:`term_key`): float32 similarities to each paper, or a bool per paper for a term, and the spread each
    voted paper's row was divided by."""

    history_scores: np.ndarray
    texts: tuple[str, ...]  # each paper's :func:`match_text`, for terms no row was kept for
    positions: np.ndarray = field(default_factory=lambda: np.arange(0))  # 0 .. count - 1
    ids: dict[int, int] = field(default_factory=dict)  # history paper id -> index
    arxiv_ids: dict[str, int] = field(default_factory=dict)
    title_keys: dict[str, int] = field(default_factory=dict)
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    spreads: dict[str, float] = field(default_factory=dict)  # a voted paper's row key -> what it was divided by

    @classmethod
    def of(cls, papers: Sequence[StoredPaper], history_scores: np.ndarray) -> DigestRows:
        rows = cls(history_scores, tuple(match_text(paper) for paper in papers), np.arange(len(papers)))
        for index, paper in reversed(list(enumerate(papers))):  # (the first of duplicates wins)
            rows.ids[paper.id] = index
            rows.title_keys[title_key(paper.title)] = index
            if paper.details.arxiv_id:
                rows.arxiv_ids[paper.details.arxiv_id] = index
        return rows

    @property
    def count(self) -> int:
        return int(self.history_scores.shape[0])

    @cached_property
    def history(self) -> np.ndarray:
        """Each paper's similarity to the history's centroid, in units of their spread as votes' rows are kept."""
        return in_spread(self.history_scores)

    def history_spread(self) -> np.ndarray:
        """The spread the history's scores are divided by (kept beside them: see :meth:`knowing_spread`)."""
        return spreads(self.history_scores[None, :])

    def knowing_spread(self, spread: np.ndarray) -> None:
        """The history's spread as :meth:`history_spread` found it (kept): :attr:`history` without a percentile
        (numpy loads its masked arrays for one: some 10 ms of a send's start). One that cannot be (not one
        positive number) is left: the spread is found again."""
        if spread.shape == (1,) and np.isfinite(spread[0]) and spread[0] > 0:
            self.__dict__["history"] = self.history_scores / spread[0]

    def keep(self, keys: Sequence[str], block: np.ndarray) -> None:
        """Hold rows just made (``block``: a row per key): a voted paper's similarities in units of their spread
        (and that spread), any other row as it was made."""
        divided = spreads(block)
        for number, key in enumerate(keys):
            row = block[number]
            if key.startswith(VOTE):
                spread = self.spreads[key] = float(divided[number])
                row = row / np.float32(spread)
            self.rows[key] = np.ascontiguousarray(row, dtype=np.float32)

    def similarities(self, papers: Sequence[VotedPaper], indexes: np.ndarray) -> np.ndarray:
        """The cosine similarity of each voted paper (a row each) to the papers of ``indexes``: their rows times
        their spreads."""
        keys = [vote_key(paper) for paper in papers]
        rows, spreads = self.rows, self.spreads
        found: np.ndarray = np.array([rows[key][indexes] for key in keys])  # (np.array: faster than np.stack)
        found *= np.array([spreads[key] for key in keys], dtype=np.float32)[:, None]
        return found

    def encoded(self) -> dict[str, bytes]:
        """Every row and spread held, as the store keeps them (see :meth:`hold`)."""
        kept = {key: row.tobytes() for key, row in self.rows.items()}
        kept.update((spread_key(key), np.float32(spread).tobytes()) for key, spread in self.spreads.items())
        return kept

    def hold(self, kept: dict[str, bytes]) -> None:
        """Hold rows and spreads read from the store."""
        for key, data in kept.items():
            if key.startswith(SPREAD):
                self.spreads[VOTE + key.removeprefix(SPREAD)] = float(np.frombuffer(data, dtype=np.float32)[0])
            else:
                self.rows[key] = np.frombuffer(data, dtype=bool if key.startswith(TERM) else np.float32)

    def holds(self, key: str) -> bool:
        """Whether the row of ``key`` is held (and its spread, for a voted paper's)."""
        return key in self.rows and (key in self.spreads or not key.startswith(VOTE))

    def forget(self) -> None:
        """Let go of every row held."""
        self.rows.clear()
        self.spreads.clear()

    def missing(self, profiles: Iterable[Profile]) -> dict[str, str]:
        """The texts whose rows these profiles need and this digest does not have yet, by key."""
        rows = self.rows
        wanted: dict[str, str] = {}
        for profile in profiles:
            for paper in (*profile.likes, *profile.dislikes):
                key = vote_key(paper)
                if not self.holds(key) and key not in wanted:
                    wanted[key] = paper_text(paper.title, paper.abstract)
            if profile.interests:
                key = query_key(profile.interests)
                if key not in rows:
                    wanted[key] = " ".join(profile.interests)
        return wanted

    def needs(self, profile: Profile) -> set[str]:
        """Every key a profile's ranking reads."""
        keys = {vote_key(paper) for paper in (*profile.likes, *profile.dislikes)}
        keys.update(spread_key(vote_key(paper)) for paper in profile.likes)
        if profile.interests:
            keys.add(query_key(profile.interests))
            keys.update(term_key(term) for term in profile.interests)
        return keys

    def missing_terms(self, profiles: Iterable[Profile]) -> set[str]:
        """The interest terms these profiles name whose matches this digest does not have yet."""
        rows = self.rows
        return {term for profile in profiles for term in profile.interests if term_key(term) not in rows}

    def matches(self, term: str) -> np.ndarray:
        """Which papers name ``term`` outright: a kept row, else matched now (and kept)."""
        key = term_key(term)
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = term_matches(term, self.texts)
        return found

    def bonus(self, term: str) -> np.ndarray:
        """What naming ``term`` outright adds to each paper's interest score (:data:`TERM_BONUS`, or nothing)."""
        key = "bonus:" + term
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = TERM_BONUS * self.matches(term)
        return found

    def voted(self, profile: Profile) -> frozenset[int]:
        """The papers of this digest the reader voted for: by the history's id, else by arXiv id or title."""
        found = set()
        for paper in (*profile.likes, *profile.dislikes):
            index = self._index_of(paper)
            if index is not None:
                found.add(index)
        return frozenset(found)

    def _index_of(self, paper: VotedPaper) -> int | None:
        if paper.paper_id is not None and paper.paper_id in self.ids:
            return self.ids[paper.paper_id]
        if paper.arxiv_id and paper.arxiv_id in self.arxiv_ids:
            return self.arxiv_ids[paper.arxiv_id]
        if paper.paper_id is None:
            return self.title_keys.get(title_key(paper.title))
        return None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _term_pattern(term: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(term)
    if pattern is None:
        words = [re.escape(word) for word in term.casefold().split()]
        # a term matches as whole words, plurals included: "agent" finds "agents", "LLM" finds "LLMs"
        pattern = re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b")
        if len(_PATTERNS) < 10_000:
            _PATTERNS[term] = pattern
    return pattern
