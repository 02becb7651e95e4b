"""A paper's text as terms: stemmed content words and short phrases, as the topic headings read it. Pure.

A word is stemmed with Snowball's English stemmer, so "predicting" and
"prediction" are one term and "LLMs" is "llm"; hyphens inside a word are
dropped ("pre-training" is "pretraining"). Stop words end a phrase and are never
terms; *generic* words (those that say what kind of text an abstract is, not what
it is about: "method", "results", "novel") are no term on their own but may stand
in a phrase ("new benchmark"). Phrases of two and three words do not cross
punctuation ("large language models", "Monte Carlo").
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

#: Longest phrase, in words.
MAX_PHRASE = 3
#: History terms seen in fewer documents than this are not kept (they count as rare).
MIN_HISTORY_COUNT = 2

_URL = re.compile(r"\S+://\S+|\bwww\.\S+")
_TOKEN = re.compile(r"(?u)\b[^\W\d_][\w-]*[^\W_]\b")
#: Phrases do not cross punctuation, brackets or a dash between spaces.
_CHUNK = re.compile(r"[.,;:()\[\]{}\"!?<>|/\\=+*]+|\s[-\u2013\u2014]+\s|'\s|\s'")
#: Words that say what kind of text an abstract is, not what it is about: never a term on their own.
GENERIC = frozenset(
    "paper propose proposed proposes method methods approach approaches result results show shows showed novel "
    "existing performance work works new based using use uses used task tasks framework frameworks study studies "
    "model models data demonstrate demonstrates experiments experiment state art significantly significant "
    "improve improves improved improvement introduce introduces present presents various different key "
    "effective effectively efficient efficiently including include includes provide provides achieve achieves "
    "approach address addresses problem problems recent recently however furthermore moreover also well "
    "specifically particular particularly respectively prior previous current general generally wide widely "
    "large small high low better best first second propose existing across often able enable enables way ways "
    "set sets number numbers type types several many make makes made given find finds found state-of-the-art "
    "proposing introducing presenting showing demonstrating et al "
    "real-world large-scale high-quality open-source well-known data-driven end-to-end fine-grained".split()
)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A word's stem, lower case: "predicting" and "prediction" -> "predict"; "LLMs" -> "llm"."""
    parts = []
    for part in word.casefold().split("-"):
        stemmed = str(_stemmer().stemWord(part)) if part else part  # type: ignore[attr-defined]
        if len(stemmed) > 2 and stemmed.endswith("s") and not re.search(r"[aeiouy]", stemmed[:-1]):
            stemmed = stemmed[:-1]  # an acronym's plural: "llms", "vlms"
        parts.append(stemmed)
    return "".join(parts)  # "pre-training" and "pretraining" are one word


_STOP, _GENERIC, _CONTENT = 0, 1, 2


@lru_cache(maxsize=200_000)
def _word(surface: str) -> tuple[str, str, int]:
    """A word as (surface, stem, kind): a stop word (it ends a phrase), a generic word, or a content word.
    (Cached: every use of a word is one object, so papers read together share their words' text.)"""
    lowered = surface.casefold()
    if lowered in _stop_words():
        return surface, lowered, _STOP
    key = stem(surface)
    return surface, key, _GENERIC if lowered in GENERIC or len(key) < 2 else _CONTENT


def _runs(text: str) -> list[list[tuple[str, str, int]]]:
    """The runs of words between punctuation and stop words: each word as (surface, stem, kind)."""
    runs = []
    for chunk in _CHUNK.split(_URL.sub(" . ", text)):
        run: list[tuple[str, str, int]] = []
        for surface in _TOKEN.findall(chunk):
            word = _word(surface)
            if word[2] == _STOP:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(word)
        if run:
            runs.append(run)
    return runs


def _run_terms(run: Sequence[tuple[str, str, int]]) -> Iterator[tuple[int, int]]:
    """(start, end) of the terms of a run: its content words, and its phrases of two and three words
    that hold a content word."""
    size = len(run)
    for start in range(size):
        content = run[start][2] == _CONTENT
        if content:
            yield start, start + 1
        for end in range(start + 2, min(size, start + MAX_PHRASE) + 1):
            content = content or run[end - 1][2] == _CONTENT
            if content:
                yield start, end


def terms(text: str) -> list[str]:
    """The terms of ``text``, each as often as it occurs (the analyser of the topic features)."""
    return _run_keys(_runs(text))


@dataclass(frozen=True, slots=True)
class DocumentFrequencies:
    """In how many of a sample of the history's papers each term occurs (terms seen in one paper are left out)."""

    documents: int
    counts: Mapping[str, int] = field(default_factory=dict)

    def share(self, term: str) -> float:
        """The term's share of the history's papers, smoothed so that an unseen term is rare, not impossible."""
        return (self.counts.get(term, 0) + 1.0) / (self.documents + 2.0)


def document_frequencies(texts: Iterable[str]) -> DocumentFrequencies:
    """The document frequencies of ``texts`` (each a paper's title and abstract).

    Read twice: first to find which terms two or more texts may share (by their hashes), then to count
    those only, so that the many phrases a single text uses are never all held at once."""
    texts = list(texts)
    shared = _shared(set(terms(text)) for text in texts)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({term for term in terms(text) if hash(term) in shared})
    return DocumentFrequencies(len(texts), {term: n for term, n in counts.items() if n >= MIN_HISTORY_COUNT})


def _shared(keys: Iterable[Iterable[str]]) -> frozenset[int]:
    """The hashes of the terms two or more of the documents (each a set of terms) hold; by chance, maybe a
    few more (two terms with one hash): a superset, so that counting only these terms misses none shared."""
    import numpy as np

    hashes = array("q")
    for document in keys:
        hashes.extend(hash(key) for key in document)
    found, counts = np.unique(np.frombuffer(hashes, dtype=np.int64), return_counts=True)
    return frozenset(found[counts >= 2].tolist())


class Titled(Protocol):
    """A paper as the topics read it (a listed or stored paper, a vote kept with its text)."""

    @property
    def title(self) -> str: ...

    @property
    def abstract(self) -> str: ...


def topic_text(title: str, abstract: str) -> str:
    """What a paper's topic is read from: its title and abstract."""
    return f"{title}. {abstract}"


class PaperTerms:
    """One paper's terms: how often each occurs, those in its title, and (on demand) how each is written."""

    __slots__ = ("_at", "_runs", "counts", "title")

    def __init__(self, counts: Counter[str], title: frozenset[str], runs: list[list[tuple[str, str, int]]]) -> None:
        self.counts = counts
        self.title = title
        self._runs = runs
        self._at: dict[str, list[tuple[int, int]]] | None = None  # a stem -> where it stands (run, word)

    @classmethod
    def of(cls, title: str, abstract: str) -> PaperTerms:
        """The terms of a paper (a title's capitals are its style, not the words': "Language Models")."""
        runs, in_title = _paper_runs(title, abstract)
        return cls(Counter(_run_keys(runs)), in_title, runs)

    @classmethod
    def shared(cls, papers: Iterable[Titled]) -> list[PaperTerms]:
        """The terms of many papers, each paper's counts holding only the terms another of them uses too,
        or it uses twice: a term one paper uses once can tell it apart from no other, nor head a group
        (the many phrases used once are never all held at once). Title terms and written forms are kept."""
        read = [_paper_runs(paper.title, paper.abstract) for paper in papers]
        shared = _shared(set(_run_keys(runs)) for runs, _ in read)
        out = []
        for runs, in_title in read:
            counts = Counter(_run_keys(runs))
            out.append(cls(Counter({k: n for k, n in counts.items() if n > 1 or hash(k) in shared}), in_title, runs))
        return out

    def forms(self, key: str) -> Counter[str]:
        """How the paper writes the term ``key``: each form and how often."""
        if self._at is None:
            self._at = {}
            for number, run in enumerate(self._runs):
                for position, (_, stemmed, _) in enumerate(run):
                    self._at.setdefault(stemmed, []).append((number, position))
        stems = key.split(" ")
        found: Counter[str] = Counter()
        for number, position in self._at.get(stems[0], ()):
            words = self._runs[number][position : position + len(stems)]
            if [stemmed for _, stemmed, _ in words] == stems:
                found[" ".join(surface for surface, _, _ in words)] += 1
        return found


def _paper_runs(title: str, abstract: str) -> tuple[list[list[tuple[str, str, int]]], frozenset[str]]:
    """A paper's runs of words, its title's first, and the terms of its title."""
    runs = [[(_untitled(surface), key, kind) for surface, key, kind in run] for run in _runs(title)]
    in_title = frozenset(_run_keys(runs))
    return runs + _runs(abstract), in_title


def _run_keys(runs: Iterable[Sequence[tuple[str, str, int]]]) -> list[str]:
    out: list[str] = []
    for run in runs:
        keys = [key for _, key, _ in run]
        out.extend(" ".join(keys[start:end]) if end - start > 1 else keys[start] for start, end in _run_terms(run))
    return out


def _untitled(word: str) -> str:
    """A Title Case word in lower case; any other ("LLMs", "GPT-4") as written."""
    return word.casefold() if word[1:] == word[1:].casefold() else word
