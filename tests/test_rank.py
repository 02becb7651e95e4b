"""Ranking for one reader: their papers first, a reason for each, the listing order without a profile."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.models import Profile, StoredPaper, VotedPaper
from digest.ranking.features import rank_papers
from digest.ranking.rank import Ranking

PAPERS = [
    ("Scaling laws for vision transformers", "We study how image classification accuracy scales with compute."),
    ("Dense passage retrieval revisited", "We propose a retriever for open-domain question answering over passages."),
    ("A diffusion model for molecules", "We introduce a diffusion model that generates drug-like molecules."),
    ("Speech recognition in noise", "This paper presents a robust speech recognition front end for noisy audio."),
    (
        "Retrieval-augmented generation at scale",
        "We present a RAG system that retrieves passages for a language model.",
    ),
    ("Robot grasping from pixels", "We train a robot policy to grasp unseen objects from camera images."),
]
HISTORY = [
    ("Sparse retrieval with learned term weights", "We propose a sparse retriever with learned weights for search."),
    ("Audio tokenizers", "We introduce a tokenizer for speech and audio generation."),
    ("Image generation with transformers", "We present an image generator based on transformers."),
]


def stored(title: str, abstract: str, number: int) -> StoredPaper:
    day = dt.date(2026, 3, 12)
    return StoredPaper(number, title, abstract, (), 1, number, day, dt.datetime(2026, 3, 12, tzinfo=dt.UTC))


def rank(profile: Profile | None, *, explain: int = 20, papers: list[tuple[str, str]] = PAPERS) -> Ranking:
    digest = [stored(title, abstract, 100 + number) for number, (title, abstract) in enumerate(papers)]
    return rank_papers(digest, profile, history=HISTORY, explain=explain)


def order(profile: Profile | None) -> list[int]:
    return list(rank(profile).order)


def test_no_profile_keeps_the_listing_order() -> None:
    assert order(None) == list(range(len(PAPERS)))
    assert order(Profile()) == list(range(len(PAPERS)))
    assert rank(None).reasons == {}


def test_interest_terms_put_matching_papers_first_with_the_terms_as_reason() -> None:
    ranking = rank(Profile(interests=("audio", "speech")))
    assert ranking.order[0] == 3
    assert ranking.reason(3) == "matches audio, speech"


def test_likes_put_similar_papers_first_and_name_the_liked_paper() -> None:
    liked = VotedPaper(*HISTORY[0])
    ranking = rank(Profile(likes=(liked,)))
    assert set(ranking.order[:2]) == {1, 4}  # the two retrieval papers
    assert ranking.reason(ranking.order[0]) == "like “Sparse retrieval with learned term weights”"


def test_each_like_counts_the_same_however_many_words_it_shares_with_the_papers() -> None:
    """A long abstract meets more of the digest's words than a short title: it does not outweigh it for that."""
    retrieval = VotedPaper(
        "Sparse retrieval with learned term weights",
        "We propose a sparse retriever with learned weights for search. Retrieval of passages for question answering "
        "with a retriever over passages, and dense passage retrieval revisited for retrieval-augmented generation at "
        "scale. Retrieval-augmented generation at scale retrieves passages for a language model.",
    )
    audio = VotedPaper("Noisy audio")
    first = order(Profile(likes=(retrieval, audio)))[:2]
    assert 3 in first and ({1, 4} & set(first))  # the speech paper, and one of the two retrieval papers


def test_two_readers_with_different_likes_get_different_orders() -> None:
    retrieval = order(Profile(likes=(VotedPaper(*HISTORY[0]),)))
    audio = order(Profile(likes=(VotedPaper(*HISTORY[1]),)))
    assert retrieval != audio
    assert audio[0] == 3


def test_a_dislike_pushes_similar_papers_down() -> None:
    liked = (VotedPaper("Transformers for images", "We present transformers for image classification and robots."),)
    plain = order(Profile(likes=liked))
    disliked = order(Profile(likes=liked, dislikes=(VotedPaper("Robot arms", "We train a robot to grasp objects."),)))
    assert disliked.index(5) > plain.index(5)


def test_interests_dominate_while_votes_are_few() -> None:
    profile = Profile(interests=("robot",), likes=(VotedPaper(*HISTORY[0]),))
    assert order(profile)[0] == 5


def test_ranking_is_deterministic_and_covers_every_paper_once() -> None:
    profile = Profile(interests=("retrieval",), likes=(VotedPaper(*HISTORY[1]),))
    first, second = order(profile), order(profile)
    assert first == second
    assert sorted(first) == list(range(len(PAPERS)))


def test_an_empty_digest_ranks_nothing() -> None:
    assert rank(Profile(interests=("x",)), papers=[]).order == ()


def test_reasons_are_given_for_the_top_papers_only() -> None:
    ranking = rank(Profile(interests=("retrieval", "speech", "robot", "diffusion")), explain=2)
    assert set(ranking.reasons) <= set(ranking.order[:2])


@given(
    term=st.text(alphabet="ab -sé", min_size=1, max_size=8),
    texts=st.lists(st.text(alphabet="ab -sé.", max_size=40), max_size=8),
)
def test_matching_a_term_finds_what_its_pattern_finds(term: str, texts: list[str]) -> None:
    """Matching first looks for the term's first word, then searches: never a different answer."""
    from digest.ranking.rows import _term_pattern, term_matches

    folded = [" ".join(text.casefold().split()) for text in texts]
    pattern = _term_pattern(term)
    assert term_matches(term, folded).tolist() == [bool(pattern.search(text)) for text in folded]


@given(
    scores=st.lists(
        st.one_of(
            st.floats(width=32, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]),  # (ties, and both zeros)
        ),
        max_size=300,
    )
)
def test_best_first_is_the_stable_descending_order_ties_in_listing_order(scores: list[float]) -> None:
    """The fast order of a reader's scores is exactly a stable sort's: the highest first, ties as listed."""
    import numpy as np

    from digest.ranking.rank import best_first

    array = np.array(scores, dtype=np.float32)
    assert best_first(array).tolist() == np.argsort(-array, kind="stable").tolist()
    assert best_first(array.astype(np.float64)).tolist() == np.argsort(-array, kind="stable").tolist()


def test_a_ranker_that_drops_its_rows_to_stay_in_memory_ranks_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.models import Digest
    from digest.ranking import kept
    from digest.ranking.features import prepare_papers

    papers = [stored(title, abstract, 100 + number) for number, (title, abstract) in enumerate(PAPERS)]
    readers = [
        Profile(interests=("retrieval",), likes=(VotedPaper(*PAPERS[1], paper_id=101),)),
        Profile(likes=(VotedPaper(*PAPERS[3], paper_id=103), VotedPaper(*PAPERS[2], paper_id=102))),
    ]
    expected = [rank(reader).order for reader in readers]
    features = prepare_papers(papers, HISTORY)
    day = dt.date(2026, 3, 12)
    digest = Digest("d", day, tuple(papers), 0, (day,), 1, 1, dt.datetime(2026, 3, 12, tzinfo=dt.UTC))
    ranker = kept.Ranker(digest, features.digest_rows(papers), scope=None, features=features)
    monkeypatch.setattr(kept, "ROWS_IN_MEMORY", 2)  # (every batch overflows what memory keeps)
    ranker.prepare(None, readers[:1])
    ranker.prepare(None, readers)  # the first reader's rows are dropped here, and must come back
    assert [ranker.rank(reader).order for reader in readers] == expected
