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
#: Voted papers and interest queries whose similarities to the digest's papers are kept at a time.
SIMILARITY_CACHE = 20_000
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
class Ranking:
    """One reader's order of a digest's papers, and why the first ones are where they are."""

    order: tuple[int, ...]  # indexes into the digest's papers (listing order), best first
    reasons: dict[int, str]  # index -> "like “<title>”" or "matches speech, audio", for the top papers

    def reason(self, index: int) -> str:
        return self.reasons.get(index, "")


@dataclass
class RankingContext:
    """A digest's papers as features, shared by every reader of that digest.

    A reader's model is linear, so their scores are sums of each voted paper's
    (and their interest query's) cosine similarity to the digest's papers: each
    is computed once per digest, when a batch of readers is warmed, and shared by
    every reader who voted for that paper.
    """

    idf: np.ndarray
    papers: sp.csr_matrix  # one L2-normalised TF-IDF row per new paper, on the digest's columns only
    columns: np.ndarray  # feature -> column in ``papers``, or -1
    texts: tuple[str, ...]  # lower-cased title + abstract, for matching interest terms
    history_scores: np.ndarray  # each paper's similarity to the history's centroid
    _similarity: dict[str, np.ndarray] = field(default_factory=dict)  # text key -> cosine to each paper
    _matches: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.papers.shape[0])

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of ``texts`` over the whole feature space."""
        if not texts:
            return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
        return _normalised(_counts(texts) @ sp.diags(self.idf, format="csr"))

    def warm(self, profiles: Sequence[Profile]) -> None:
        """Vectorise, in one pass, the voted papers and interest queries of many readers (a send's batch)."""
        wanted: dict[str, str] = {}
        for profile in profiles:
            for paper in (*profile.likes, *profile.dislikes):
                if paper.text_key not in self._similarity:
                    wanted[paper.text_key] = paper_text(paper.title, paper.abstract)
            if profile.interests:
                key = _query_key(profile.interests)
                if key not in self._similarity:
                    wanted[key] = " ".join(profile.interests)
        if not wanted:
            return
        if len(self._similarity) + len(wanted) > SIMILARITY_CACHE:
            self._similarity.clear()
        rows = self.vectors(list(wanted.values()))
        # Only the digest's columns can meet its papers: project onto them, then one product for the batch.
        kept = self.columns[rows.indices]
        rows = sp.csr_matrix(
            (np.where(kept >= 0, rows.data, 0.0), np.maximum(kept, 0), rows.indptr),
            shape=(rows.shape[0], self.papers.shape[1]),
        )
        similarity = np.asarray((self.papers @ rows.T).toarray(), dtype=np.float32)  # papers x texts
        for number, key in enumerate(wanted):
            self._similarity[key] = np.ascontiguousarray(similarity[:, number])

    def _mean_similarity(self, keys: Sequence[str]) -> np.ndarray:
        """Each paper's mean cosine similarity to the (cached) texts of ``keys``."""
        total = np.zeros(self.count, dtype=np.float32)
        for key in keys:
            total += self._similarity[key]
        return total / max(1, len(keys))

    def matches(self, term: str) -> np.ndarray:
        """Which papers name ``term`` outright (whole words, plurals too); cached, readers share terms."""
        found = self._matches.get(term)
        if found is None:
            pattern = _term_pattern(term)
            found = np.fromiter((bool(pattern.search(text)) for text in self.texts), dtype=bool, count=self.count)
            if len(self._matches) < 100_000:
                self._matches[term] = found
        return found

    def score(self, profile: Profile | None, *, explain: int = 20) -> Ranking:
        """The digest's papers, best first for this reader, with reasons for the first ``explain``.

        No profile (or an empty one): the listing's order.
        """
        count = self.count
        if profile is None or profile.is_empty or count == 0:
            return Ranking(tuple(range(count)), {})
        self.warm([profile])
        interest = self._interest_scores(profile.interests)
        votes = self._vote_scores(profile)
        vote_count = len(profile.likes) + len(profile.dislikes)
        weight = INTEREST_PRIOR / (INTEREST_PRIOR + vote_count) if profile.interests else 0.0
        from_interest = weight * _scaled(interest)
        from_votes = (1.0 - weight) * _scaled(votes)
        order = np.lexsort((np.arange(count), -(from_interest + from_votes)))
        top = [int(index) for index in order[:explain]]
        reasons: dict[int, str] = {}
        nearest = self._nearest_likes(profile.likes, top)
        for index in top:
            if index in nearest and from_votes[index] > from_interest[index] and votes[index] > 0:
                reasons[index] = "like “" + _short(profile.likes[nearest[index]].title) + "”"
            else:
                terms = [term for term in profile.interests if self.matches(term)[index]]
                if terms:
                    reasons[index] = _short("matches " + ", ".join(terms), REASON_CHARS)
        return Ranking(tuple(order.tolist()), reasons)

    def _interest_scores(self, interests: Sequence[str]) -> np.ndarray:
        if not interests:
            return np.zeros(self.count, dtype=np.float32)
        scores = self._mean_similarity([_query_key(interests)])
        # A paper that names a term outright outranks one that only shares its words.
        for term in interests:
            scores += 0.05 * self.matches(term)
        return scores

    def _vote_scores(self, profile: Profile) -> np.ndarray:
        """The reader's linear model: their likes' centroid, less part of their dislikes' and the history's."""
        scores = np.zeros(self.count, dtype=np.float32)
        if profile.likes:
            scores += self._mean_similarity([paper.text_key for paper in profile.likes])
            scores -= HISTORY_WEIGHT * self.history_scores
        if profile.dislikes:
            scores -= DISLIKE_WEIGHT * self._mean_similarity([paper.text_key for paper in profile.dislikes])
        return scores

    def _nearest_likes(self, likes: Sequence[VotedPaper], indexes: Sequence[int]) -> dict[int, int]:
        """For each paper of ``indexes``, which of the reader's (most recent) likes it is most similar to."""
        considered = likes[:NEAREST_AMONG]
        if not considered or not indexes:
            return {}
        similarity = np.stack([self._similarity[paper.text_key][list(indexes)] for paper in considered])
        best = similarity.argmax(axis=0)
        return {
            index: int(best[row])
            for row, index in enumerate(indexes)
            if similarity[best[row], row] >= MIN_REASON_SIMILARITY
        }


def _query_key(interests: Sequence[str]) -> str:
    return "query:" + "\x1f".join(interests)


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
    full = _normalised(new_counts @ weights)
    used = np.unique(full.indices)
    columns = np.full(N_FEATURES, -1, dtype=np.int64)
    columns[used] = np.arange(used.size)
    papers = sp.csr_matrix((full.data, columns[full.indices], full.indptr), shape=(full.shape[0], used.size))
    if history_counts.shape[0]:
        history = _normalised(history_counts @ weights)
        centroid = np.asarray(history.mean(axis=0), dtype=np.float32).ravel()
        history_scores = np.asarray(full @ centroid, dtype=np.float32).ravel()
    else:
        history_scores = np.zeros(papers.shape[0], dtype=np.float32)
    return RankingContext(
        idf=idf,
        papers=papers,
        columns=columns,
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


def _short(title: str, limit: int = REASON_TITLE_CHARS) -> str:
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,:;-") + "…"
