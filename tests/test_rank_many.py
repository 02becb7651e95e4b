"""Ranking a batch of readers at once gives each of them exactly what ranking them one by one gives."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.models import Profile, StoredPaper, VotedPaper
from digest.ranking.rank import score
from digest.ranking.rank_many import score_many
from digest.ranking.rows import DigestRows, query_key, vote_key

TERMS = ("retrieval", "speech", "diffusion model", "agents", "graph")
WORDS = ("retrieval", "speech", "diffusion", "model", "agents", "graph", "vision", "the", "of")
#: Values a row takes: a few, so that readers' scores tie often (ties keep the listing's order), zeros of both signs,
#: and any other (negative ones too, as no cosine is, so that nothing rests on rows being at least 0).
VALUES = st.one_of(st.sampled_from([0.0, -0.0, 0.25, 1.0, 0.5, 0.05, 0.049]), st.floats(-4, 4, width=32))


@st.composite
def batches(draw: st.DrawFn) -> tuple[DigestRows, list[Profile | None], list[int]]:
    """A digest's rows (random, ties frequent) and readers of every kind: none, empty, interests only, likes and
    dislikes of papers of the digest (voted: they go last) or of the history, up to 25 likes, and all of these
    together."""
    count = draw(st.integers(0, 12))
    day = dt.date(2026, 3, 12)
    papers = [
        StoredPaper(
            100 + number,
            f"Paper {number}",
            " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=8))),
            (),
            1,
            number,
            day,
            dt.datetime(2026, 3, 12, tzinfo=dt.UTC),
        )
        for number in range(count)
    ]
    rows = DigestRows.of(papers, np.array(draw(st.lists(VALUES, min_size=count, max_size=count)), dtype=np.float32))
    voted = [VotedPaper(f"Paper {number}", "", 100 + number) for number in range(count)]
    voted += [VotedPaper(f"Earlier paper {number}", "", 10_000 + number) for number in range(24)]
    for paper in voted:
        rows.rows[vote_key(paper)] = np.array(draw(st.lists(VALUES, min_size=count, max_size=count)), np.float32)
        rows.spreads[vote_key(paper)] = draw(st.sampled_from([1.0, 0.5, 2.0, 0.125]))
    readers: list[Profile | None] = []
    for _ in range(draw(st.integers(0, 9))):
        if draw(st.booleans()) and not draw(st.booleans()):
            readers.append(None)
            continue
        interests = tuple(draw(st.lists(st.sampled_from(TERMS), max_size=3, unique=True)))
        # (more likes than a reason looks among, now and then; the same paper twice, and liked and disliked)
        likes = tuple(draw(st.lists(st.sampled_from(voted), max_size=draw(st.sampled_from([3, 6, 25])))))
        dislikes = tuple(draw(st.lists(st.sampled_from(voted), max_size=3)))
        readers.append(Profile(interests=interests, likes=likes, dislikes=dislikes))
        if interests:
            key = query_key(interests)
            if key not in rows.rows:
                rows.rows[key] = np.array(draw(st.lists(VALUES, min_size=count, max_size=count)), np.float32)
    explains = draw(st.lists(st.integers(0, 14), min_size=len(readers), max_size=len(readers)))
    return rows, readers, explains


@settings(max_examples=400, deadline=None)
@given(batches())
def test_a_batch_ranks_each_reader_exactly_as_ranking_them_alone(batch: tuple[DigestRows, list, list[int]]) -> None:
    rows, readers, explains = batch
    alone = [score(rows, reader, explain=explain) for reader, explain in zip(readers, explains, strict=True)]
    together = score_many(rows, readers, explains)
    assert [ranking.order for ranking in together] == [ranking.order for ranking in alone]
    assert [ranking.reasons for ranking in together] == [ranking.reasons for ranking in alone]
    assert [ranking.voted for ranking in together] == [ranking.voted for ranking in alone]
