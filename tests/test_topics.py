"""The day's topics: deterministic groups with labels, every paper in exactly one group."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.listings.formats import parse_listing
from digest.ranking.topics import OTHER, digest_topics, topics

from conftest import EXAMPLE_DUMPS, ROOT, Project
from golden import assert_golden


def papers(path):  # type: ignore[no-untyped-def]
    return parse_listing(path.read_bytes(), today=dt.date(2026, 11, 22)).papers


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
    groups = topics(docs * 12)
    assert len(groups) == 4 and not recwarn.list


def test_a_few_papers_are_one_group() -> None:
    assert topics(["a paper about cats", "a paper about dogs"]) == [topics(["x", "y"])[0]]
    assert topics(["a paper about cats", "a paper about dogs"])[0].label == OTHER
    assert topics([]) == []


def test_golden_topics_of_the_example_dumps() -> None:
    out = []
    for path in EXAMPLE_DUMPS:
        out.append(f"# {path.name}\n")
        for group in digest_topics(papers(path)):
            out.append(f"{group.label}: {', '.join(map(str, group.members))}\n")
    assert_golden(ROOT / "tests" / "data" / "topics.txt", "".join(out))


def test_publishing_keeps_the_digests_topics_for_every_later_mail_and_page(project: Project) -> None:
    from digest.config import load_config
    from digest.store import open_store

    from conftest import NOW

    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    config = load_config(project.config, {})
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
        assert digest is not None and digest.id is not None
        kept = store.digests.topics(digest.id)
    assert kept == digest_topics(digest.papers)
    page = (project.root / "site" / "archive" / f"{digest.slug}.html").read_text()
    assert all(f'id="{topic.anchor}"' in page for topic in kept)
