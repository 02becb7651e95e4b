"""The day's topics: deterministic groups whose headings describe their papers, every paper in exactly one group."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.listings.formats import parse_listing
from digest.listings.identity import title_key
from digest.models import Topic, VotedPaper
from digest.ranking.topics import MAX_SHARE, OTHER, digest_topics
from digest.ranking.words import DocumentFrequencies, document_frequencies, topic_text

from conftest import EXAMPLE_DUMPS, ROOT, Project
from golden import assert_golden


def papers(path):  # type: ignore[no-untyped-def]
    return parse_listing(path.read_bytes(), today=dt.date(2026, 11, 22)).papers


def history() -> DocumentFrequencies:
    """The document frequencies of every paper of the bundled dumps, as the store holds them after the third."""
    seen: dict[str, str] = {}
    for path in EXAMPLE_DUMPS:
        for paper in papers(path):
            seen.setdefault(title_key(paper.title), topic_text(paper.title, paper.abstract))
    return document_frequencies(seen.values())


def uses(term: str, text: str) -> bool:
    """Whether ``text`` holds ``term`` as a reader would look for it: whole words, any case, a plural or not."""
    words = [re.escape(word) for word in term.casefold().split()]
    return re.search(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b", text.casefold()) is not None


def test_every_paper_is_in_exactly_one_group() -> None:
    for path in EXAMPLE_DUMPS:
        found = papers(path)
        groups = digest_topics(found)
        members = sorted(index for group in groups for index in group.members)
        assert members == list(range(len(found)))
        assert 2 <= len(groups) <= 12
        assert all(group.label for group in groups)
        assert len({group.label for group in groups}) == len(groups)


def test_the_same_papers_give_the_same_groups() -> None:
    found = papers(EXAMPLE_DUMPS[0])
    assert digest_topics(found) == digest_topics(list(found))


def test_papers_that_read_alike_make_fewer_groups_quietly(recwarn: pytest.WarningsRecorder) -> None:
    docs = ["alpha beta one", "gamma delta two", "epsilon zeta three", "eta theta four"]
    groups = digest_topics([VotedPaper(doc, doc) for doc in docs * 12])
    assert len(groups) == 4 and not recwarn.list
    assert {group.label for group in groups} == {"alpha beta", "gamma delta", "epsilon zeta", "eta theta"}


def test_every_heading_term_is_used_by_at_least_half_of_its_group() -> None:
    frequencies = history()
    for path in EXAMPLE_DUMPS:
        found = papers(path)
        for group in digest_topics(found, frequencies):
            if group.label == OTHER:
                continue
            for term in re.sub(r" \(\d+\)$", "", group.label).split(", "):
                users = [i for i in group.members if uses(term, topic_text(found[i].title, found[i].abstract))]
                assert len(users) >= 0.5 * len(group.members), (path.name, group.label, term)


def test_no_group_holds_more_than_its_share_of_the_day() -> None:
    frequencies = history()
    for path in EXAMPLE_DUMPS:
        found = papers(path)
        groups = digest_topics(found, frequencies)
        assert len(groups) <= 12
        assert all(len(group.members) <= MAX_SHARE * len(found) for group in groups if group.label != OTHER)


def test_a_paper_that_fits_no_group_goes_to_other_topics() -> None:
    diffusion = [
        (
            f"Diffusion models for image synthesis, part {n}",
            "We train diffusion models on images. The diffusion models denoise images step by step and the "
            f"denoising diffusion sampler reaches a new FID on variant {n}.",
        )
        for n in range(6)
    ]
    preferences = [
        (
            f"Preference optimization for language model alignment, part {n}",
            "We align language models with human preferences. Direct preference optimization uses the "
            f"preferences of annotators; the aligned language models follow preferences better in setting {n}.",
        )
        for n in range(6)
    ]
    cosmology = (
        "Dark matter halos in a cosmological simulation",
        "We measure galaxy clustering in a cosmological simulation of dark matter halos and their galaxies.",
    )
    found = [*diffusion, *preferences, cosmology]
    texts = [topic_text(*paper) for paper in found]
    earlier = [f"A study of topic {n}: we measure quantity {n} in setting {n}." for n in range(100)]
    groups = digest_topics([VotedPaper(*paper) for paper in found], document_frequencies(texts + earlier))
    assert groups[-1] == Topic(OTHER, (12,))
    assert sorted(group.members for group in groups[:-1]) == [tuple(range(6)), tuple(range(6, 12))]
    headings = {group.label for group in groups[:-1]}
    assert any("diffusion" in heading for heading in headings), headings
    assert any("preference" in heading for heading in headings), headings


def test_headings_are_measured_against_the_history_not_only_the_day() -> None:
    """A word the whole history uses ("develop") heads no group, even on a day whose papers all use it."""
    day = [
        (
            f"Speech recognition in noisy rooms, study {n}",
            f"We develop speech recognition for noisy rooms. We develop a front end; the speech recognition "
            f"error falls in room {n}.",
        )
        for n in range(5)
    ] + [
        (
            f"Protein structure prediction, study {n}",
            f"We develop protein structure prediction. We develop a folding model; the protein structure "
            f"prediction improves for family {n}.",
        )
        for n in range(5)
    ]
    texts = [topic_text(*paper) for paper in day]
    background = [f"We develop tools for topic {n}. We develop them further with care." for n in range(200)]
    groups = digest_topics([VotedPaper(*paper) for paper in day], document_frequencies(texts + background))
    assert len(groups) == 2 and all("develop" not in group.label for group in groups), groups


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=60), st.text(max_size=300)), max_size=30))
def test_any_papers_are_each_in_exactly_one_group(found: list[tuple[str, str]]) -> None:
    groups = digest_topics([VotedPaper(*paper) for paper in found])
    members = sorted(index for group in groups for index in group.members)
    assert members == list(range(len(found)))
    assert len(groups) <= 12 and all(group.label and "\n" not in group.label for group in groups)
    assert len({group.label for group in groups}) == len(groups)


def test_a_few_papers_are_one_group() -> None:
    two = [VotedPaper("Cats", "A paper about cats."), VotedPaper("Dogs", "A paper about dogs.")]
    assert digest_topics(two) == [Topic(OTHER, (0, 1))]
    assert digest_topics([]) == []


def test_golden_topics_of_the_example_dumps() -> None:
    out = []
    frequencies = history()
    for path in EXAMPLE_DUMPS:
        out.append(f"# {path.name}\n")
        for group in digest_topics(papers(path), frequencies):
            out.append(f"{group.label}: {', '.join(map(str, group.members))}\n")
    assert_golden(ROOT / "tests" / "data" / "topics.txt", "".join(out))


def test_publishing_keeps_the_digests_topics_for_every_later_mail_and_page(project: Project) -> None:
    from digest.config import load_config
    from digest.ranking.grouping import history_frequencies
    from digest.store import open_store

    from conftest import NOW

    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    config = load_config(project.config, {})
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
        assert digest is not None and digest.id is not None
        kept = store.digests.topics(digest.id)
        assert kept == digest_topics(digest.papers, history_frequencies(store))
    page = (project.root / "site" / "archive" / f"{digest.slug}.html").read_text()
    assert all(f'id="{topic.anchor}"' in page for topic in kept)
