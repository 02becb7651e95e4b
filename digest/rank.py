"""Ranking a digest's papers for one reader. Pure: texts and a profile in, scores and reasons out.

As arxiv-sanity-lite does, papers are TF-IDF vectors of their title and
abstract, and each reader gets a linear model of what they like:

- **Features, once per digest** (:func:`prepare`): words and word pairs hashed
  into a fixed space (scikit-learn's ``HashingVectorizer``: no vocabulary to
  fit or store, the same paper always has the same features), weighted by an
  IDF fitted on the history's most recent papers and the digest's own (a
  bounded sample, so preparing costs the same at any history size).
- **A reader's model** (:meth:`RankingContext.score`): a nearest-centroid
  (Rocchio) linear classifier, the closed form of "likes against dislikes and
  the rest of the history": the centroid of the papers they liked, minus part
  of the centroid of those they disliked and of the history's. Training is a
  sum of a few sparse rows and scoring one sparse product, so every reader of a
  100,000-strong list gets their own model during the send.
- **Interest terms** are a query in the same space, blended in and dominant
  while votes are few: with ``n`` votes, their weight is ``2 / (2 + n)``.

Each paper's reason names what put it there: the liked paper it is closest to,
or the interest terms it matches. A reader with no profile gets the listing's
order. Ties keep the listing's order, so the ranking is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from digest.models import Profile, VotedPaper

#: The hashed feature space: large enough that collisions between a day's words are rare.
N_FEATURES = 2**20
#: How many of the history's most recent papers the IDF is fitted on.
IDF_SAMPLE = 5_000
#: In a reader's model, how much the centroid of their dislikes and of the history weigh against their likes.
DISLIKE_WEIGHT = 0.5
HISTORY_WEIGHT = 0.25
#: Interest terms weigh INTEREST_PRIOR / (INTEREST_PRIOR + votes) against the votes.
INTEREST_PRIOR = 2.0
REASON_TITLE_CHARS = 60

_VECTORISER = HashingVectorizer(
    n_features=N_FEATURES,
    alternate_sign=False,
    norm=None,
    stop_words="english",
    ngram_range=(1, 2),
    token_pattern=r"(?u)\b[^\W\d_][^\W_]+\b",  # words of two letters or more, split at hyphens
    dtype=np.float32,
)


def paper_text(title: str, abstract: str) -> str:
    """What a paper is ranked by: its title (twice: it says most in fewest words) and its abstract."""
    return f"{title}. {title}. {abstract}"


def _counts(texts: Sequence[str]) -> sp.csr_matrix:
    counts = _VECTORISER.transform(texts)
    counts.data = 1.0 + np.log(counts.data, dtype=np.float32)  # sublinear term frequency
    return counts


@dataclass(frozen=True, slots=True)
class Ranked:
    index: int  # the paper's position in the digest (listing order)
    score: float
    reason: str  # "like “<title>”" or "matches speech, audio"; "" when nothing in the profile speaks for it


@dataclass
class RankingContext:
    """A digest's papers as features, shared by every reader of that digest."""

    idf: np.ndarray
    papers: sp.csr_matrix  # one L2-normalised TF-IDF row per new paper, in listing order
    texts: tuple[str, ...]  # lower-cased title + abstract, for matching interest terms
    history_scores: np.ndarray  # each paper's similarity to the history's centroid
    _vote_cache: dict[str, sp.csr_matrix] = field(default_factory=dict)

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of ``texts`` in this digest's space."""
        if not texts:
            return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
        matrix = _counts(texts)
        return _normalised(matrix @ sp.diags(self.idf, format="csr"))

    def _voted(self, papers: Sequence[VotedPaper]) -> sp.csr_matrix:
        """The rows of voted papers, cached by their text (many readers like the same papers)."""
        missing = [paper for paper in papers if paper.text_key not in self._vote_cache]
        if missing:
            if len(self._vote_cache) > 50_000:
                self._vote_cache.clear()
            rows = self.vectors([paper_text(paper.title, paper.abstract) for paper in missing])
            for number, paper in enumerate(missing):
                self._vote_cache[paper.text_key] = rows[number]
        return sp.vstack([self._vote_cache[paper.text_key] for paper in papers], format="csr")

    def score(self, profile: Profile | None) -> list[Ranked]:
        """The digest's papers, best first for this reader; the listing order when the profile is empty."""
        count = self.papers.shape[0]
        if profile is None or profile.is_empty or count == 0:
            return [Ranked(index, 0.0, "") for index in range(count)]
        interest, matched = self._interest_scores(profile.interests)
        votes, nearest = self._vote_scores(profile.likes, profile.dislikes)
        vote_count = len(profile.likes) + len(profile.dislikes)
        weight = INTEREST_PRIOR / (INTEREST_PRIOR + vote_count) if profile.interests else 0.0
        from_interest = weight * _scaled(interest)
        from_votes = (1.0 - weight) * _scaled(votes)
        blended = from_interest + from_votes
        order = np.lexsort((np.arange(count), -blended))
        ranked = []
        for index in (int(number) for number in order):
            reason = ""
            if from_votes[index] > from_interest[index] and nearest is not None and votes[index] > 0:
                reason = "like “" + _short(profile.likes[int(nearest[index])].title) + "”"
            elif matched[index]:
                reason = "matches " + ", ".join(matched[index])
            ranked.append(Ranked(index, float(blended[index]), reason))
        return ranked

    def _interest_scores(self, interests: Sequence[str]) -> tuple[np.ndarray, list[list[str]]]:
        count = self.papers.shape[0]
        if not interests:
            return np.zeros(count, dtype=np.float32), [[] for _ in range(count)]
        query = self.vectors([" ".join(interests)])
        scores = np.asarray((self.papers @ query.T).todense(), dtype=np.float32).ravel()
        patterns = [(term, _term_pattern(term)) for term in interests]
        matched = [[term for term, pattern in patterns if pattern.search(text)] for text in self.texts]
        # A paper that names a term outright outranks one that only shares its words.
        scores = scores + np.array([len(terms) for terms in matched], dtype=np.float32) * 0.05
        return scores, matched

    def _vote_scores(
        self, likes: Sequence[VotedPaper], dislikes: Sequence[VotedPaper]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        count = self.papers.shape[0]
        if not likes and not dislikes:
            return np.zeros(count, dtype=np.float32), None
        scores = np.zeros(count, dtype=np.float32)
        nearest = None
        if likes:
            liked = self._voted(likes)
            similarity = (self.papers @ liked.T).toarray()  # papers x likes
            scores += similarity.mean(axis=1)
            nearest = similarity.argmax(axis=1)
            scores -= HISTORY_WEIGHT * self.history_scores
        if dislikes:
            disliked = self._voted(dislikes)
            scores -= DISLIKE_WEIGHT * (self.papers @ disliked.T).toarray().mean(axis=1)
        return scores, nearest


def prepare(new_texts: Sequence[str], history_texts: Sequence[str]) -> RankingContext:
    """Features for a digest's papers (``new_texts``), with an IDF fitted on a sample of the history."""
    new_counts = _counts(new_texts) if new_texts else sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    history_counts = _counts(history_texts) if history_texts else sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    documents = new_counts.shape[0] + history_counts.shape[0]
    frequency = np.bincount(new_counts.indices, minlength=N_FEATURES) + np.bincount(
        history_counts.indices, minlength=N_FEATURES
    )
    idf = (np.log((1.0 + documents) / (1.0 + frequency)) + 1.0).astype(np.float32)
    weights = sp.diags(idf, format="csr")
    papers = _normalised(new_counts @ weights)
    if history_counts.shape[0]:
        history = _normalised(history_counts @ weights)
        centroid = np.asarray(history.mean(axis=0), dtype=np.float32).ravel()
        history_scores = np.asarray(papers @ centroid, dtype=np.float32).ravel()
    else:
        history_scores = np.zeros(papers.shape[0], dtype=np.float32)
    return RankingContext(
        idf=idf,
        papers=papers,
        texts=tuple(" ".join(text.casefold().split()) for text in new_texts),
        history_scores=history_scores,
    )


def _normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    if matrix.shape[0] == 0:
        return sp.csr_matrix(matrix, dtype=np.float32)
    return normalize(matrix, copy=False).astype(np.float32)


def _scaled(scores: np.ndarray) -> np.ndarray:
    """``scores`` divided by the largest magnitude among them, so that two kinds of score can be blended."""
    top = float(np.abs(scores).max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.casefold().split()]
    # a term matches as whole words, plurals included: "agent" finds "agents", "LLM" finds "LLMs"
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b")


def _short(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= REASON_TITLE_CHARS:
        return title
    cut = title[: REASON_TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,:;-") + "…"
