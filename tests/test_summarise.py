"""The TL;DR: the sentence that states what a paper contributes, short enough for a phone."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from digest.listings.formats import parse_listing
from digest.ranking.summarise import TLDR_CHARS, sentences, shorten, tldr

from conftest import EXAMPLE_DUMPS, ROOT
from golden import assert_golden


def test_the_contribution_beats_the_background_opening() -> None:
    abstract = (
        "Large language models have shown remarkable abilities in many tasks. However, retrieval remains slow. "
        "We propose FastRAG, an index that answers queries ten times faster. Experiments confirm this."
    )
    assert tldr(abstract) == "We propose FastRAG, an index that answers queries ten times faster."


def test_this_paper_presents_counts_as_a_contribution() -> None:
    abstract = "Speech recognition is hard in noise. This paper presents a denoising front end for ASR models."
    assert tldr(abstract).startswith("This paper presents")


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = "We use e.g. transformers (Vaswani et al. 2017) and get 3.5 points more. Then we stop."
    assert sentences(text) == [
        "We use e.g. transformers (Vaswani et al. 2017) and get 3.5 points more.",
        "Then we stop.",
    ]


def test_a_long_sentence_is_cut_between_words_with_an_ellipsis() -> None:
    sentence = "We propose " + " ".join(f"word{n}" for n in range(80)) + "."
    short = tldr(sentence)
    assert len(short) <= TLDR_CHARS and short.endswith("…")
    assert short[:-1].split()[-1].startswith("word")  # no word cut in half
    assert sentence.startswith(short[:-1])


def test_an_abstract_without_cues_gives_its_first_sentence() -> None:
    assert tldr("A study of cats. Cats are nice animals to live with.") == "A study of cats."
    assert tldr("   ") == ""


@given(st.text(max_size=2000))
def test_any_abstract_gives_a_short_tldr_taken_from_it(abstract: str) -> None:
    short = tldr(abstract)
    assert len(short) <= TLDR_CHARS
    assert short.removesuffix("…").rstrip() in " ".join(abstract.split())


@given(st.text(min_size=1, max_size=400), st.integers(min_value=20, max_value=300))
def test_shorten_keeps_to_its_limit(text: str, limit: int) -> None:
    assert len(shorten(text, limit)) <= limit


def test_golden_tldrs_of_the_example_dumps() -> None:
    """Every paper of the bundled dumps, title and TL;DR: a change in the scoring shows up as a diff."""
    for path in EXAMPLE_DUMPS:
        dump = parse_listing(path.read_bytes(), today=dt.date(2026, 11, 22))
        lines = [f"{paper.title}\n  {tldr(paper.abstract)}\n" for paper in dump.papers]
        assert_golden(ROOT / "tests" / "data" / "tldr" / f"{path.stem}.txt", "".join(lines))
