"""What the topics group papers by: each paper's terms as a TF-IDF row. Pure.

A paper's row holds the terms (:mod:`digest.ranking.words`) two or more of the
grouped papers use, each weighted by how often the paper uses it (its title's terms
count twice) and by its rarity in the history (the history's document frequencies,
the grouped papers' own included), then scaled to unit length. The vocabulary and
weights found for the grouped papers also make the rows of papers read later
(:meth:`TopicFeatures.rows`), as the topics of a large day place the papers past
their sample.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from digest.ranking.words import DocumentFrequencies, PaperTerms


@dataclass(frozen=True, slots=True)
class TopicFeatures:
    """The grouped papers' rows, and what they were made with."""

    matrix: Any  # scipy CSR, a row per grouped paper, unit length (or empty)
    frequencies: DocumentFrequencies  # the history's, the grouped papers' own merged in
    vocabulary: dict[str, int]  # term -> column
    weights: Any  # numpy: each column's rarity weight (its IDF)

    def rows(self, papers: Sequence[PaperTerms]) -> Any:
        """Rows of further papers over the same vocabulary and weights (float32 CSR, unit length)."""
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize

        indptr, columns, counts = [0], [], []
        for paper in papers:
            for key, n in paper.counts.items():
                column = self.vocabulary.get(key)
                if column is not None:
                    columns.append(column)
                    counts.append(n + (key in paper.title))
            indptr.append(len(columns))
        index = np.asarray(columns, dtype=np.int64)
        values = (1 + np.log(np.asarray(counts, dtype=np.float64))) * self.weights[index]
        shape = (len(papers), len(self.vocabulary))
        matrix = sp.csr_matrix((values.astype(np.float32), index, np.asarray(indptr)), shape=shape)
        return normalize(matrix) if self.vocabulary else matrix


def topic_features(papers: Sequence[PaperTerms], history: DocumentFrequencies | None) -> TopicFeatures:
    """TF-IDF rows over the terms two or more of ``papers`` use; without a ``history``, the papers are their own."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    day_counts: dict[str, int] = {}
    for paper in papers:
        for key in paper.counts:
            day_counts[key] = day_counts.get(key, 0) + 1
    vocabulary = {key: n for n, key in enumerate(sorted(key for key, used in day_counts.items() if used >= 2))}
    if history is None:
        history = DocumentFrequencies(len(papers), day_counts)
    documents = max(history.documents, len(papers))
    merged = {key: max(history.counts.get(key, 0), day_counts[key]) for key in vocabulary}
    del day_counts
    weights = {key: math.log((documents + 1) / (merged[key] + 1)) + 1 for key in vocabulary}
    rows, columns, values = array("q"), array("q"), array("d")  # (not a Python object per entry)
    for row, paper in enumerate(papers):
        for key, n in paper.counts.items():
            n += key in paper.title  # the title says most in fewest words: its terms count twice
            column = vocabulary.get(key)
            if column is not None:
                rows.append(row)
                columns.append(column)
                values.append((1 + math.log(n)) * weights[key])
    entries = (
        np.frombuffer(values, dtype=np.float64),
        (np.frombuffer(rows, np.int64), np.frombuffer(columns, np.int64)),
    )
    matrix = sp.csr_matrix(entries, shape=(len(papers), len(vocabulary)), dtype=np.float64)
    return TopicFeatures(
        normalize(matrix) if vocabulary else matrix,
        DocumentFrequencies(documents, merged),
        vocabulary,
        np.fromiter(weights.values(), dtype=np.float64, count=len(weights)),
    )
