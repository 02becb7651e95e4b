"""A digest's papers as TF-IDF features, and the similarity rows readers' profiles need. Uses scikit-learn.

- **Features, once per digest** (:func:`prepare`): words and word pairs hashed
  into a fixed space (scikit-learn's ``HashingVectorizer``: no vocabulary to
  fit or store, the same paper always has the same features), weighted by an
  IDF fitted on the history's most recent papers and the digest's own (a
  bounded sample, so preparing costs the same at any history size).
- **Rows** (:meth:`Features.rows`): a text's (a voted paper's, a reader's
  interest query's) cosine similarity to each of the digest's papers, in the
  same space; :func:`digest.ranking.rank.score` ranks a reader from them alone.

Only the digest's columns can meet its papers, so they are kept projected onto
those: the IDF, the papers' rows and the history's scores are all a later
process needs to make more rows exactly as these were made (see
:func:`Features.to_bytes`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from digest.models import Profile, StoredPaper
from digest.ranking.rank import Ranking, score
from digest.ranking.rows import DigestRows, paper_text, wanted_texts

#: The hashed feature space: large enough that collisions between a day's words are rare.
N_FEATURES = 2**20
#: Texts vectorised and multiplied at a time (bounds the dense block of similarities).
ROWS_AT_ONCE = 2_000

_VECTORISER = HashingVectorizer(
    n_features=N_FEATURES,
    alternate_sign=False,
    norm=None,
    stop_words="english",
    ngram_range=(1, 2),
    token_pattern=r"(?u)\b[^\W\d_][^\W_]+\b",  # words of two letters or more, split at hyphens
    dtype=np.float32,
)


def _counts(texts: Sequence[str]) -> sp.csr_matrix:
    if not texts:
        return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    counts = _VECTORISER.transform(texts)
    counts.data = 1.0 + np.log(counts.data, dtype=np.float32)  # sublinear term frequency
    return counts


def _normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    if matrix.shape[0] == 0:
        return sp.csr_matrix(matrix, dtype=np.float32)
    return normalize(matrix, copy=False).astype(np.float32)


@dataclass
class Features:
    """A digest's papers as features: what making rows for more readers needs, and nothing else."""

    idf: np.ndarray  # float32, one weight per hashed feature
    papers: sp.csr_matrix  # one L2-normalised TF-IDF row per paper, on the digest's columns only
    used: np.ndarray  # the hashed feature of each of those columns, ascending
    history_scores: np.ndarray  # each paper's similarity to the history's centroid

    @property
    def count(self) -> int:
        return int(self.papers.shape[0])

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of ``texts`` over the whole feature space."""
        return _normalised(_counts(texts) @ sp.diags(self.idf, format="csr"))

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's cosine similarity to each paper: a float32 array of ``len(texts)`` rows."""
        found = np.zeros((len(texts), self.count), dtype=np.float32)
        for start in range(0, len(texts), ROWS_AT_ONCE):
            vectors = self.vectors(texts[start : start + ROWS_AT_ONCE])
            # Only the digest's columns can meet its papers: project onto them, then one product for the batch.
            position = np.searchsorted(self.used, vectors.indices)
            position = np.minimum(position, max(0, self.used.size - 1))
            kept = (self.used[position] == vectors.indices) if self.used.size else np.zeros(0, dtype=bool)
            projected = sp.csr_matrix(
                (np.where(kept, vectors.data, 0.0), np.where(kept, position, 0), vectors.indptr),
                shape=(vectors.shape[0], self.papers.shape[1]),
            )
            block = np.asarray((self.papers @ projected.T).toarray(), dtype=np.float32)  # papers x texts
            found[start : start + block.shape[1]] = block.T
        return found

    def digest_rows(self, papers: Sequence[StoredPaper]) -> DigestRows:
        """The pure scorer's view of this digest (``papers``: the ones these features were prepared from)."""
        return DigestRows.of(papers, self.history_scores)

    def add_rows(self, rows: DigestRows, wanted: dict[str, str]) -> None:
        """Make the rows of ``wanted`` (key -> text) and put them in ``rows``."""
        if wanted:
            rows.keep(list(wanted), self.rows(list(wanted.values())))

    def to_parts(self, size: int) -> Iterator[bytes]:
        """The features as a compressed ``.npz``, in parts of ``size`` bytes: written to a temporary file
        and read back a part at a time (a large digest's record is never held whole)."""
        with tempfile.TemporaryFile() as out:
            self._save(out)
            out.seek(0)
            while part := out.read(size):
                yield part

    def _save(self, out: BinaryIO) -> None:
        np.savez_compressed(
            out,
            idf=self.idf,
            data=self.papers.data,
            indices=self.papers.indices,
            indptr=self.papers.indptr,
            shape=np.array(self.papers.shape),
            used=self.used,
            history_scores=self.history_scores,
        )

    @classmethod
    def from_parts(cls, parts: Iterable[bytes]) -> Features | None:
        """Features kept by :meth:`to_parts` (gathered in a temporary file, not joined in memory); None when
        there are no parts."""
        with tempfile.TemporaryFile() as gathered:
            for part in parts:
                gathered.write(part)
            if not gathered.tell():
                return None
            gathered.seek(0)
            with np.load(gathered) as kept:
                shape = tuple(int(value) for value in kept["shape"])
                return cls(
                    idf=kept["idf"],
                    papers=sp.csr_matrix((kept["data"], kept["indices"], kept["indptr"]), shape=shape),
                    used=kept["used"],
                    history_scores=kept["history_scores"],
                )


def prepare(new_texts: Sequence[str], history_texts: Sequence[str]) -> Features:
    """Features for a digest's papers (``new_texts``), with an IDF fitted on a sample of the history.

    The counts are weighted and normalised in place, and projected onto the digest's columns a slice at a
    time: a large digest's matrix is held about once, not once per step."""
    new_counts = _counts(new_texts)
    history_counts = _counts(history_texts)
    documents = new_counts.shape[0] + history_counts.shape[0]
    frequency = np.bincount(new_counts.indices, minlength=N_FEATURES) + np.bincount(
        history_counts.indices, minlength=N_FEATURES
    )
    idf = (np.log((1.0 + documents) / (1.0 + frequency)) + 1.0).astype(np.float32)
    del frequency
    full = _weighted(new_counts, idf)
    used = np.unique(full.indices)
    columns = np.empty(full.indices.size, dtype=np.int32 if used.size < 2**31 else np.int64)
    for start in range(0, columns.size, _SLICE):
        columns[start : start + _SLICE] = np.searchsorted(used, full.indices[start : start + _SLICE])
    papers = sp.csr_matrix((full.data, columns, full.indptr), shape=(full.shape[0], used.size))
    if history_counts.shape[0]:
        history = _weighted(history_counts, idf)
        centroid = np.asarray(history.mean(axis=0), dtype=np.float32).ravel()
        history_scores = np.asarray(full @ centroid, dtype=np.float32).ravel()
    else:
        history_scores = np.zeros(papers.shape[0], dtype=np.float32)
    return Features(idf=idf, papers=papers, used=used.astype(np.int64), history_scores=history_scores)


#: Column numbers found a slice of this many at a time.
_SLICE = 2**20


def _weighted(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """The counts times the IDF, each row L2-normalised: in place."""
    if counts.shape[0] == 0:
        return sp.csr_matrix(counts, dtype=np.float32)
    counts.data *= idf[counts.indices]
    return normalize(counts, copy=False)


def prepare_papers(papers: Sequence[StoredPaper], history: Sequence[tuple[str, str]]) -> Features:
    """:func:`prepare` for a digest's papers and the history's (title, abstract) sample."""
    return prepare([paper_text(p.title, p.abstract) for p in papers], [paper_text(*h) for h in history])


def rank_papers(
    papers: Sequence[StoredPaper],
    profile: Profile | None,
    *,
    history: Sequence[tuple[str, str]] = (),
    explain: int = 20,
) -> Ranking:
    """Papers and a profile in, the reader's ranking out: everything in one call (tests, benchmarks, previews)."""
    features = prepare_papers(papers, history)
    rows = features.digest_rows(papers)
    if profile is not None:
        features.add_rows(rows, wanted_texts(profile))
    return score(rows, profile, explain=explain)
