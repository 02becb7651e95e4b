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


def test_results_do_not_beat_the_method() -> None:
    abstract = (
        "Retrieval is slow for long documents. "
        "SkipIndex is a sparse index that skips unread passages and answers queries without a dense scan. "
        "Experimental results demonstrate that our method outperforms strong baselines on five benchmarks."
    )
    assert tldr(abstract, "SkipIndex: Sparse Indexes that Skip Unread Passages").startswith("SkipIndex is")


def test_applying_the_proposed_method_is_no_proposal() -> None:
    abstract = (
        "Our model, GraphFold, encodes contact maps as a graph prior for protein folding. "
        "We then apply the proposed prior to three protein families and report accuracy."
    )
    assert tldr(abstract, "GraphFold: A Graph Prior for Protein Folding").startswith("Our model, GraphFold")


def test_the_contribution_the_title_names_beats_a_secondary_one() -> None:
    abstract = (
        "Speculative decoding needs a good draft length. We propose SpecLen, which adapts the draft length to the "
        "acceptance rate. We also introduce a small cache for draft tokens that saves memory on long prompts."
    )
    assert tldr(abstract, "SpecLen: Adaptive Draft Lengths for Speculative Decoding").startswith("We propose SpecLen")


def test_deriving_establishing_and_revisiting_state_the_idea() -> None:
    for verb in ("derive", "establish", "revisit"):
        abstract = (
            "Score matching is widely used for generative models. "
            "Experiments show that we obtain state-of-the-art sample quality on CIFAR-10. "
            f"Here we {verb} a variance bound for denoising score matching under weak assumptions on the data."
        )
        assert tldr(abstract).startswith(f"Here we {verb}"), verb


def test_a_task_and_the_idea_after_it_are_shown_together_when_they_fit() -> None:
    abstract = (
        "Large models forget old tasks. We study continual learning for speech. "
        "We propose EchoReplay, which replays compressed audio. It halves forgetting."
    )
    assert (
        tldr(abstract)
        == "We study continual learning for speech. We propose EchoReplay, which replays compressed audio."
    )


def test_a_sentence_that_only_points_back_is_no_tldr() -> None:
    abstract = (
        "Process reward models need step labels, which are costly. This paper aims to address this challenge. "
        "We show that an implicit process reward model can be trained on outcome labels alone."
    )
    assert tldr(abstract).startswith("We show that an implicit")


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
        lines = [f"{paper.title}\n  {tldr(paper.abstract, paper.title)}\n" for paper in dump.papers]
        assert_golden(ROOT / "tests" / "data" / "tldr" / f"{path.stem}.txt", "".join(lines))
