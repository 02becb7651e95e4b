"""A large day's topics: groups found on a sample of its papers, every other paper placed in them by its terms."""

from __future__ import annotations

import datetime as dt
import re

from digest.listings.formats import parse_listing
from digest.listings.identity import title_key
from digest.models import Paper, Topic
from digest.ranking.placing import sample
from digest.ranking.topics import OTHER, digest_topics
from digest.ranking.words import DocumentFrequencies, document_frequencies, terms, topic_text

from conftest import EXAMPLE_DUMPS

#: A sample smaller than the example dumps' papers, as a day past the real sample would be.
SIZE = 120


def every_paper() -> list[Paper]:
    """The bundled dumps' papers, each once: a day of about 300 papers."""
    seen: dict[str, Paper] = {}
    for path in EXAMPLE_DUMPS:
        for paper in parse_listing(path.read_bytes(), today=dt.date(2026, 11, 22)).papers:
            seen.setdefault(title_key(paper.title), paper)
    return list(seen.values())


def frequencies(papers: list[Paper]) -> DocumentFrequencies:
    return document_frequencies(topic_text(paper.title, paper.abstract) for paper in papers)


def uses(term: str, text: str) -> bool:
    """Whether ``text`` uses the heading term in any of its forms ("reasons" for "reasoning")."""
    return max(terms(term), key=len) in terms(text)


def test_a_large_day_has_every_paper_in_exactly_one_group_under_a_heading_it_uses_a_form_of() -> None:
    papers = every_paper()
    groups = digest_topics(papers, frequencies(papers), sample_size=SIZE)
    assert sorted(index for group in groups for index in group.members) == list(range(len(papers)))
    assert 3 <= len(groups) <= 12 and groups[-1].label == OTHER
    assert len(groups[-1].members) < len(papers) / 2
    for group in groups[:-1]:
        terms = re.sub(r" \(\d+\)$", "", group.label).split(", ")
        for index in group.members:
            text = topic_text(papers[index].title, papers[index].abstract)
            assert any(uses(term, text) for term in terms), (group.label, papers[index].title)


def test_the_sample_is_grouped_as_a_day_of_only_its_papers_would_be() -> None:
    papers = every_paper()
    history = frequencies(papers)
    chosen = sample(papers, SIZE)
    assert len(chosen) == SIZE
    alone = digest_topics([papers[i] for i in chosen], history)
    large = {group.label: group.members for group in digest_topics(papers, history, sample_size=SIZE)}
    for group in alone:
        assert tuple(i for i in large[group.label] if i in chosen) == tuple(chosen[i] for i in sorted(group.members))


def test_the_sample_is_the_same_papers_whatever_the_listings_order() -> None:
    papers = every_paper()
    backwards = papers[::-1]
    assert {papers[i].title for i in sample(papers, SIZE)} == {backwards[i].title for i in sample(backwards, SIZE)}
    assert sample(papers[:SIZE], SIZE) == list(range(SIZE))


def test_a_day_at_the_sample_size_is_grouped_whole() -> None:
    papers = every_paper()[:SIZE]
    history = frequencies(papers)
    assert digest_topics(papers, history, sample_size=SIZE) == digest_topics(papers, history)
    assert all(isinstance(group, Topic) for group in digest_topics(papers, history, sample_size=SIZE))
