"""Terms that set a group of papers apart from the history: the words a topic heading is made of."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from digest.models import VotedPaper
from digest.ranking.terms import distinctive_terms, wilson_lower
from digest.ranking.words import document_frequencies, stem, terms, topic_text

HISTORY = [
    topic_text(f"Tools for problem {n}", f"We develop a method for problem {n}. We develop it further.")
    for n in range(100)
]


def group(*abstracts: str) -> list[VotedPaper]:
    return [VotedPaper(f"Paper {n}", abstract) for n, abstract in enumerate(abstracts)]


def texts(found: list[VotedPaper]) -> list[str]:
    return [topic_text(paper.title, paper.abstract) for paper in found]


def test_a_word_the_whole_history_uses_sets_nothing_apart() -> None:
    found = group(*[f"We develop diffusion models. The diffusion models denoise images, case {n}." for n in range(5)])
    chosen = [term.text for term in distinctive_terms(found, document_frequencies(HISTORY + texts(found)))]
    assert chosen[0] == "diffusion models" and "develop" not in chosen


def test_an_acronym_and_its_phrase_are_one_term() -> None:
    found = group(
        *[
            f"Large language models (LLMs) answer questions. We study how LLMs and large language models "
            f"reason, case {n}."
            for n in range(5)
        ]
    )
    chosen = [term.text for term in distinctive_terms(found, document_frequencies(HISTORY + texts(found)))]
    assert sum(text in ("LLMs", "large language models") for text in chosen) == 1, chosen


def test_a_phrase_reads_better_than_its_word() -> None:
    found = group(*[f"Monte Carlo sampling with Monte Carlo estimates of the posterior, run {n}." for n in range(5)])
    chosen = [term.text for term in distinctive_terms(found, document_frequencies(HISTORY + texts(found)))]
    assert "Monte Carlo" in chosen and "carlo" not in [text.casefold() for text in chosen], chosen


def test_a_word_used_once_in_passing_is_no_heading() -> None:
    """A content word is repeated where it is the subject; "unlike" in every abstract, once each, is not one."""
    found = group(
        *[
            f"Unlike prior work, we fold proteins. Protein folding with protein language models, case {n}."
            for n in range(5)
        ]
    )
    chosen = [term.text.casefold() for term in distinctive_terms(found, document_frequencies(HISTORY + texts(found)))]
    assert "unlike" not in chosen and any("protein" in text for text in chosen), chosen


def test_a_term_too_few_papers_use_is_no_heading() -> None:
    found = group("Diffusion models denoise. Diffusion models sample.", "A survey of graph theory.", "Speech, speech.")
    assert distinctive_terms(found, document_frequencies(HISTORY + texts(found))) == []


def test_words_are_stemmed_and_split_at_punctuation() -> None:
    assert stem("predicting") == stem("prediction") and stem("LLMs") == "llm"
    assert stem("pre-training") == stem("pretraining")
    found = terms("Large language models, trained.")
    assert "larg languag model" in found and not any("train" in term and " " in term for term in found)


def test_wilson_lower_bound() -> None:
    assert wilson_lower(0, 0) == 0.0
    assert 0.4 < wilson_lower(3, 3) < 0.5
    assert wilson_lower(30, 30) > 0.88


@given(st.lists(st.tuples(st.text(max_size=40), st.text(max_size=200)), max_size=12))
def test_any_papers_give_terms_they_use(found: list[tuple[str, str]]) -> None:
    papers = [VotedPaper(title, abstract) for title, abstract in found]
    for term in distinctive_terms(papers, limit=3):
        assert term.text and 0.5 <= term.coverage <= 1.0
        assert any(term.text.casefold() in topic_text(*paper).casefold() for paper in found)
