"""A reader of several themes: For you shared between them, each card's reason naming its theme."""

from __future__ import annotations

import datetime as dt

import numpy as np

from digest.models import Profile, StoredPaper, VotedPaper
from digest.ranking.features import prepare_papers
from digest.ranking.rank import Ranking, score, wanted_texts
from digest.ranking.rows import DigestRows
from digest.ranking.themes import share

RETRIEVAL = [
    ("Dense passage retrieval for open-domain question answering", "We train a dense retriever over passages."),
    ("Sparse retrieval with learned term weights", "A sparse retriever learns term weights for passage search."),
    ("Retrieval-augmented generation with long passages", "We retrieve long passages for a retrieval reader."),
    ("Reranking passages with cross-encoders", "A cross-encoder reranks retrieved passages for search."),
    ("Query expansion for dense retrieval", "We expand queries so a dense retriever finds more passages."),
    ("Multi-vector retrieval at scale", "Late interaction retrieval indexes passages as many vectors."),
    ("Hard negatives for retriever training", "Mining hard negative passages improves dense retrieval."),
    ("Retrieval benchmarks for passage search", "We evaluate retrievers on passage search benchmarks."),
]
SPEECH = [
    ("Speech recognition in noisy rooms", "A speech recogniser robust to noisy audio in rooms."),
    ("Neural audio codecs for speech", "We compress speech audio with a neural codec."),
    ("Speaker diarization from raw audio", "Who spoke when: diarization of speech audio recordings."),
]
OTHER = [
    ("Robot grasping from pixels", "A robot policy grasps unseen objects from camera images."),
    ("Diffusion models for molecules", "A diffusion model generates drug-like molecules."),
    ("Scaling laws for vision transformers", "Image classification accuracy scales with compute."),
]
LIKED_RETRIEVAL = [
    ("Passage retrieval with dual encoders", "Dense dual encoders retrieve passages for questions."),
    ("Learned sparse retrieval", "Sparse term weights for passage retrieval and search."),
    ("Dense retrievers and hard negatives", "Training dense retrieval with hard negative passages."),
    ("Passage reranking for search", "Rerankers order retrieved passages for search queries."),
]
LIKED_SPEECH = [
    ("Robust speech recognition", "Speech recognition of noisy audio recordings."),
    ("Audio tokenizers for speech", "Tokenizing speech audio for generation and recognition."),
]
HISTORY = [
    ("Image generation with transformers", "We present an image generator based on transformers."),
    ("Graph neural networks for chemistry", "Message passing over molecular graphs predicts properties."),
    ("Reinforcement learning for games", "Agents learn to play board games by self-play."),
]


def stored(papers: list[tuple[str, str]]) -> list[StoredPaper]:
    day = dt.date(2026, 3, 12)
    now = dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
    return [StoredPaper(100 + n, title, abstract, (), 1, n, day, now) for n, (title, abstract) in enumerate(papers)]


DIGEST = RETRIEVAL + SPEECH + OTHER


def ranked(profile: Profile, papers: list[tuple[str, str]] = DIGEST) -> tuple[Ranking, DigestRows]:
    digest = stored(papers)
    features = prepare_papers(digest, HISTORY)
    rows = features.digest_rows(digest)
    features.add_rows(rows, wanted_texts(profile))
    return score(rows, profile, explain=10), rows


def likes(papers: list[tuple[str, str]]) -> tuple[VotedPaper, ...]:
    return tuple(VotedPaper(title, abstract) for title, abstract in papers)


def test_a_reader_of_two_themes_gets_both_in_the_first_places_each_named_by_its_theme() -> None:
    profile = Profile(likes=likes(LIKED_RETRIEVAL + LIKED_SPEECH))
    ranking, rows = ranked(profile)
    labels = rows.themes(profile)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1]  # (retrieval, then speech)
    speech = {DIGEST.index(paper) for paper in SPEECH}
    first = ranking.order[:5]
    assert len(speech & set(first)) >= 2  # (not flooded by the larger theme: 4 likes against 2)
    assert ranking.order[1] in speech  # (each theme's best paper comes first, the largest theme's first of all)
    speech_likes = {f"like “{title}”" for title, _ in LIKED_SPEECH}
    retrieval_likes = {f"like “{title}”" for title, _ in LIKED_RETRIEVAL}
    for index in first:
        assert ranking.reason(index) in (speech_likes if index in speech else retrieval_likes)


def test_a_reader_of_one_theme_ranks_as_one_model() -> None:
    profile = Profile(likes=likes(LIKED_RETRIEVAL))
    ranking, rows = ranked(profile)
    assert rows.themes(profile).tolist() == [0, 0, 0, 0]
    retrieval = {DIGEST.index(paper) for paper in RETRIEVAL}
    assert set(ranking.order[: len(RETRIEVAL)]) == retrieval


def test_an_interest_term_joins_the_theme_whose_likes_name_it() -> None:
    profile = Profile(interests=("audio", "passages"), likes=likes(LIKED_RETRIEVAL + LIKED_SPEECH))
    ranking, rows = ranked(profile)
    assert rows.themes(profile).tolist() == [0, 0, 0, 0, 1, 1, 1, 0]  # (audio: speech; passages: retrieval)
    speech = {DIGEST.index(paper) for paper in SPEECH}
    assert speech & set(ranking.order[:3])


def test_a_paper_the_reader_liked_takes_no_place_and_no_reason_names_it() -> None:
    profile = Profile(likes=likes([*LIKED_RETRIEVAL, SPEECH[0], *LIKED_SPEECH]))
    ranking, _ = ranked(profile)
    liked = DIGEST.index(SPEECH[0])
    assert ranking.order[-1] == liked
    assert liked not in ranking.reasons
    assert all(SPEECH[0][0] not in reason for reason in ranking.reasons.values())
    assert sorted(ranking.order) == list(range(len(DIGEST)))


def test_themes_rank_the_same_every_time() -> None:
    profile = Profile(interests=("speech",), likes=likes(LIKED_SPEECH + LIKED_RETRIEVAL))
    first, _ = ranked(profile)
    again, _ = ranked(profile)
    assert first.order == again.order and first.reasons == again.reasons


def test_first_places_go_round_every_theme_with_candidates_then_in_proportion() -> None:
    queues = [np.array([1, 2, 3, 4, 5, 6]), np.array([10, 11, 12]), np.array([], dtype=np.intp)]
    picked = share(queues, [4, 1, 3], 8)
    assert list(picked) == [1, 10, 2, 3, 4, 5, 6, 11]  # (one each, the larger first; then 4:1, by Sainte-Laguë)
    assert set(picked.values()) == {0, 1}  # (a theme without candidates takes no place)
    assert list(share([np.array([7, 8]), np.array([7, 9])], [1, 1], 3)) == [7, 9, 8]  # (a paper taken once)
