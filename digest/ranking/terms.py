"""Terms that set a group of papers apart from the history: what a topic heading is made of. Pure.

:func:`distinctive_terms` (and :func:`group_terms`, for papers already read as
terms by :mod:`digest.ranking.words`) ranks the terms of a set of papers by how
much they set the set apart from the history, given the history's document
frequencies (:func:`~digest.ranking.words.document_frequencies`):

- a term is used by at least half of the papers (:data:`MIN_COVERAGE`), written
  so (the form shown, or its plural);
- even its cautious share (the lower bound of a 95% Wilson interval, which a few
  papers sharing a word by chance do not reach) is :data:`MIN_LIFT` times its
  share of the history's papers;
- it is a content word of its papers: most of those that use it use it twice, or
  in their title ("diffusion" is repeated where it is the subject; "unlike" is not).

Terms are ranked by that cautious share times the log of its ratio to the
history's share (the term's part of the relative entropy between the set and the
history). A phrase stands in for its word when nearly every use of the word is in
it ("carlo" -> "Monte Carlo"); a near-duplicate of a chosen term (the same stem,
or an acronym and its phrase: "LLMs" and "large language models") is left out.
Each term is shown as its papers write it ("LLMs", "chain-of-thought", "Bayesian").
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from digest.ranking.words import DocumentFrequencies, PaperTerms, Titled, document_frequencies, topic_text

#: A heading term is used by at least this share of its papers.
MIN_COVERAGE = 0.5
#: ... and its cautious share is at least this many times its share of the history's papers.
MIN_LIFT = 2.0
#: A phrase stands in for its shorter part when it covers this share of the part's papers.
PHRASE_SHARE = 0.8
#: A content word: at least this share of the papers that use it use it twice, or in their title.
CONTENT_SHARE = 0.5
#: The z of the 95% Wilson interval's lower bound.
_Z = 1.96


@dataclass(frozen=True, slots=True)
class Term:
    """A term that sets a group of papers apart from the history."""

    key: str  # stemmed: "larg languag model"
    text: str  # as its papers write it: "large language models"
    coverage: float  # share of the group's papers that use it
    lift: float  # its cautious share in the group over its share of the history
    score: float


def wilson_lower(successes: int, trials: int) -> float:
    """The lower bound of the 95% Wilson score interval of a proportion."""
    if trials == 0:
        return 0.0
    p = successes / trials
    z2 = _Z * _Z
    centre = p + z2 / (2 * trials)
    margin = _Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def candidate_terms(
    used: Mapping[str, int], papers: int, frequencies: DocumentFrequencies, *, min_coverage: float = MIN_COVERAGE
) -> list[Term]:
    """Every term of ``used`` (term -> how many of the ``papers`` use it) that passes, best first (no forms)."""
    found = []
    for key, count in used.items():
        coverage = count / papers
        if coverage < min_coverage:
            continue
        cautious = wilson_lower(count, papers)
        lift = cautious / frequencies.share(key)
        if lift < MIN_LIFT:
            continue
        found.append(Term(key, key, coverage, lift, cautious * math.log(lift)))
    found.sort(key=lambda term: (-term.score, term.key))
    return found


def group_terms(
    papers: Sequence[PaperTerms],
    frequencies: DocumentFrequencies,
    *,
    limit: int = 3,
    taken: Sequence[Term] = (),
) -> list[Term]:
    """The terms that set ``papers`` apart from the history, best first, each as its papers write it.

    A term passes :func:`candidate_terms`, is a content word of its papers (most of those that use it
    use it twice, or in their title: "diffusion" is repeated where it is the subject, "unlike" is not),
    and is written so in half of them. A phrase that holds nearly every use of a term stands in for it
    ("Monte Carlo" for "carlo"); a near-duplicate of a term already chosen, or of one ``taken`` (by the
    headings of other groups), is left out.
    """
    if not papers:
        return []
    count = len(papers)
    used: Counter[str] = Counter()  # papers using each term
    occurrences: Counter[str] = Counter()  # uses of each term
    repeated: Counter[str] = Counter()  # papers using it twice, or in their title
    for paper in papers:
        used.update(paper.counts.keys())
        occurrences.update(paper.counts)
        repeated.update(key for key, n in paper.counts.items() if n >= 2 or key in paper.title)
    candidates = candidate_terms(used, count, frequencies)
    candidates.sort(key=lambda term: (-term.score, -occurrences[term.key], len(term.key.split()), term.key))
    chosen: list[Term] = []
    for term in candidates:
        if repeated[term.key] < CONTENT_SHARE * used[term.key]:
            continue
        term = _as_phrase(term, occurrences, papers)
        text, written = literal_form(term.key, papers)
        if written < MIN_COVERAGE * count or any(near_duplicates(term, other) for other in (*chosen, *taken)):
            continue
        chosen.append(dataclasses.replace(term, text=text, coverage=written / count))
        if len(chosen) == limit:
            break
    return chosen


def _as_phrase(term: Term, occurrences: Mapping[str, int], papers: Sequence[PaperTerms]) -> Term:
    """The longest phrase holding nearly every use of ``term`` ("Monte Carlo" for "carlo"), else the term."""
    while True:
        inner = f" {term.key} "
        longer = [
            key
            for key, n in occurrences.items()
            if n >= PHRASE_SHARE * occurrences[term.key] and len(key) > len(term.key) and inner in f" {key} "
        ]
        if not longer:
            return term
        key = max(longer, key=lambda key: (occurrences[key], len(key), key))
        term = dataclasses.replace(term, key=key, text=key)


def near_duplicates(a: Term, b: Term) -> bool:
    """Whether two terms say the same thing: a stem in common, or an acronym and its phrase ("LLMs")."""
    if set(a.key.split()) & set(b.key.split()):
        return True
    return _acronym_of(a, b) or _acronym_of(b, a)


def _acronym_of(short: Term, phrase: Term) -> bool:
    words = [word for word in re.split(r"[\s-]+", phrase.text.casefold()) if word]
    letters = short.key
    if " " in letters or len(words) < 2 or len(letters) < 2:
        return False
    initials = "".join(word[0] for word in words)
    return letters.startswith(initials) or initials.startswith(letters)


def literal_form(key: str, papers: Sequence[PaperTerms]) -> tuple[str, int]:
    """How a term is best written, and how many of ``papers`` use it so written (or with a plural "s").

    Of the ways the papers write the term ("network", "networks"), the one found in the most papers
    wins ("network": it is also found in "networks"), then the one written most often; its case is the
    papers' own when they capitalise inside a word ("LLMs", "GSM8K") or always capitalise it
    ("Bayesian", "Monte Carlo"), else lower case.
    """
    written: Counter[str] = Counter()
    per_paper = []
    for paper in papers:
        forms = paper.forms(key)
        written.update(forms)
        per_paper.append({form.casefold() for form in forms})
    lowered: Counter[str] = Counter()
    for form, count in written.items():
        lowered[form.casefold()] += count
    covered = {form: sum(1 for used in per_paper if used & {form, form + "s", form + "es"}) for form in lowered}
    best = max(lowered, key=lambda form: (covered[form], lowered[form], form))
    return display_form(Counter({form: n for form, n in written.items() if form.casefold() == best})), covered[best]


def distinctive_terms(
    papers: Sequence[Titled], frequencies: DocumentFrequencies | None = None, *, limit: int = 3
) -> list[Term]:
    """The terms that set ``papers`` (anything with a title and an abstract) apart from the history, best first.

    ``frequencies`` are the history's (:func:`~digest.ranking.words.document_frequencies` of its papers'
    :func:`~digest.ranking.words.topic_text`); without them, the papers are compared with themselves (and
    so little stands out). Each term is shown as its papers write it.
    """
    if frequencies is None:
        frequencies = document_frequencies(topic_text(paper.title, paper.abstract) for paper in papers)
    return group_terms([PaperTerms.of(paper.title, paper.abstract) for paper in papers], frequencies, limit=limit)


def display_form(forms: Counter[str]) -> str:
    """The written form of a term to show: its most used form, lower case unless the papers keep capitals.

    Capitals inside a word are kept ("LLMs", "GSM8K"), and so is a capital the papers mostly write
    ("Bayesian") or always write ("Monte Carlo"); a phrase otherwise reads in lower case ("large
    language models", though abstracts often capitalise it before its acronym).
    """
    top = max(forms, key=lambda form: (forms[form], form))
    if any(ch.isupper() for word in top.split() for ch in word[1:]):
        return top
    lowered = {form: count for form, count in forms.items() if form == form.casefold()}
    if not lowered or (" " not in top and 2 * sum(lowered.values()) < sum(forms.values())):
        return top
    return max(lowered, key=lambda form: (lowered[form], form))
