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
  shared by every reader who voted for that paper. Scoring a reader is a few
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

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from digest.listings.identity import title_key
from digest.models import Profile, StoredPaper, VotedPaper

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
#: A paper that names an interest term outright gets this much on top of its similarity to the query.
TERM_BONUS = 0.05


def paper_text(title: str, abstract: str) -> str:
    """What a paper is ranked by: its title (twice: it says most in fewest words) and its abstract."""
    return f"{title}. {title}. {abstract}"


def query_key(interests: Sequence[str]) -> str:
    """The row key of a reader's interest terms taken together, as a query."""
    return "query:" + "\x1f".join(interests)


def term_key(term: str) -> str:
    """The row key of which papers name ``term`` outright."""
    return "term:" + term


def wanted_texts(profile: Profile) -> dict[str, str]:
    """The rows a profile needs that come from vectorising a text: its voted papers and its query, by key."""
    wanted = {paper.text_key: paper_text(paper.title, paper.abstract) for paper in (*profile.likes, *profile.dislikes)}
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


@dataclass
class DigestRows:
    """What ranking needs of one digest, for any reader: each paper's similarity to the history's centroid,
    the papers' identities (to know which ones a reader voted for), and rows by key (see :func:`wanted_texts`,
    :func:`term_key`): float32 similarities to each paper, or a bool per paper for a term."""

    history_scores: np.ndarray
    texts: tuple[str, ...]  # each paper's :func:`match_text`, for terms no row was kept for
    positions: np.ndarray = field(default_factory=lambda: np.arange(0))  # 0 .. count - 1
    ids: dict[int, int] = field(default_factory=dict)  # history paper id -> index
    arxiv_ids: dict[str, int] = field(default_factory=dict)
    title_keys: dict[str, int] = field(default_factory=dict)
    rows: dict[str, np.ndarray] = field(default_factory=dict)

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

    def missing(self, profiles: Iterable[Profile]) -> dict[str, str]:
        """The texts whose rows these profiles need and this digest does not have yet, by key."""
        rows = self.rows
        wanted: dict[str, str] = {}
        for profile in profiles:
            for paper in (*profile.likes, *profile.dislikes):
                key = paper.text_key
                if key not in rows and key not in wanted:
                    wanted[key] = paper_text(paper.title, paper.abstract)
            if profile.interests:
                key = query_key(profile.interests)
                if key not in rows:
                    wanted[key] = " ".join(profile.interests)
        return wanted

    def needs(self, profile: Profile) -> set[str]:
        """Every key a profile's ranking reads."""
        keys = {paper.text_key for paper in (*profile.likes, *profile.dislikes)}
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


def score(digest: DigestRows, profile: Profile | None, *, explain: int = 20) -> Ranking:
    """The digest's papers, best first for this reader, with reasons for the first ``explain``.

    Every row the profile needs must be in ``digest`` (see :meth:`DigestRows.missing`). No profile (or an
    empty one): the listing's order.
    """
    count = digest.count
    if profile is None or profile.is_empty or count == 0:
        return Ranking(digest.positions, {})
    interest = _interest_scores(digest, profile.interests)
    votes = _vote_scores(digest, profile)
    vote_count = len(profile.likes) + len(profile.dislikes)
    weight = INTEREST_PRIOR / (INTEREST_PRIOR + vote_count) if profile.interests else 0.0
    from_interest = weight * _scaled(interest)
    from_votes = (1.0 - weight) * _scaled(votes)
    voted = digest.voted(profile)
    keys = [digest.positions, -(from_interest + from_votes)]
    if voted:
        last = np.zeros(count, dtype=bool)
        last[list(voted)] = True
        keys.append(last)
    order = np.lexsort(keys)
    top = np.array([index for index in order[:explain].tolist() if index not in voted], dtype=np.intp)
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
        similarity = np.stack([digest.rows[paper.text_key][top] for paper in considered])  # (the top papers' only)
        best = similarity.argmax(axis=0)
        close = similarity[best, np.arange(top.size)] >= MIN_REASON_SIMILARITY
        liked = close & (from_votes[top] > from_interest[top]) & (votes[top] > 0)
        nearest = np.where(liked, best, -1).tolist()
    matched = [(term, digest.matches(term)[top].tolist()) for term in profile.interests]
    likes: dict[int, str] = {}
    reasons: dict[int, str] = {}
    for position, index in enumerate(top.tolist()):
        like = nearest[position]
        if like >= 0:
            if like not in likes:
                likes[like] = "like “" + _short(considered[like].title) + "”"
            reasons[index] = likes[like]
        else:
            terms = tuple(term for term, found in matched if found[position])
            if terms:
                reasons[index] = _matches(terms)
    return reasons


def first_unvoted(ranking: Ranking, count: int, allowed: Collection[int] | None = None) -> int:
    """How many For-you places a reader's first papers can take: at most ``count``, none a voted paper."""
    candidates = len(ranking.ranked) - len(ranking.voted) if allowed is None else len(set(allowed) - ranking.voted)
    return max(0, min(count, candidates))


def _mean_similarity(digest: DigestRows, keys: Sequence[str]) -> np.ndarray:
    """Each paper's mean cosine similarity to the texts of ``keys``."""
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


def _vote_scores(digest: DigestRows, profile: Profile) -> np.ndarray:
    """The reader's linear model: their likes' centroid, less part of their dislikes' and the history's."""
    scores = np.zeros(digest.count, dtype=np.float32)
    if profile.likes:
        scores += _mean_similarity(digest, [paper.text_key for paper in profile.likes])
        scores -= HISTORY_WEIGHT * digest.history_scores
    if profile.dislikes:
        scores -= DISLIKE_WEIGHT * _mean_similarity(digest, [paper.text_key for paper in profile.dislikes])
    return scores


def _scaled(scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by the largest magnitude among them, so that two kinds of score can be blended."""
    top = float(np.abs(scores).max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


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
