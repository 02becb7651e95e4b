"""Profiles from the command line: interests, frequency, likes and dislikes, CSV round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from digest.listings.references import paper_ref, read_refs

from conftest import EXAMPLE_DUMPS, Project


@pytest.fixture
def known(project: Project) -> Project:
    """A project whose history holds the first example dump, with one subscriber."""
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").code == 0
    assert project.run("subscribers", "add", "reader@example.org").code == 0
    return project


def first_titles(count: int) -> list[str]:
    import datetime as dt

    from digest.listings.formats import parse_listing

    dump = parse_listing(EXAMPLE_DUMPS[0].read_bytes(), today=dt.date(2026, 11, 22))
    return [paper.title for paper in dump.papers[:count]]


def test_paper_references_name_an_arxiv_id_or_a_title() -> None:
    assert paper_ref("https://arxiv.org/abs/2403.01234v2").arxiv_id == "2403.01234"
    assert paper_ref("arXiv:2403.01234").key == "arxiv:2403.01234"
    assert paper_ref("  Attention   Is All You Need ").key == "title:attentionisallyouneed"
    for bad in ("https://example.org/paper", "12", "x" * 600):
        with pytest.raises(ValueError):
            paper_ref(bad)


def test_bad_lines_are_reported_one_by_one_with_their_number() -> None:
    refs, bad = read_refs(["# my favourites", "Attention Is All You Need", "", "https://example.org/x", "??"])
    assert [number for number, _ in refs] == [2]
    assert [str(problem).split(":")[0] for problem in bad] == ["line 4", "line 5"]


def test_add_with_interests_and_frequency_shows_in_the_list(project: Project) -> None:
    result = project.run("subscribers", "add", "a@example.org", "--interests", "Speech, audio", "--frequency", "weekly")
    assert result.code == 0, result.stderr
    listed = project.run("subscribers", "list").stdout
    assert "interests: audio, speech" in listed and "weekly" in listed
    assert project.run("subscribers", "set", "a@example.org", "--frequency", "daily").code == 0
    assert "daily" in project.run("subscribers", "list").stdout


def test_set_needs_something_to_change_and_a_known_address(project: Project) -> None:
    assert project.run("subscribers", "set", "nobody@example.org", "--interests", "x").code == 1
    assert project.run("subscribers", "set", "nobody@example.org").code == 2


def test_like_from_a_file_matches_titles_keeps_unknown_ones_and_rejects_bad_lines(
    known: Project, tmp_path: Path
) -> None:
    titles = first_titles(3)
    favourites = tmp_path / "favourites.txt"
    favourites.write_text(
        f"{titles[0].upper()}\n{titles[1]}\nA Paper Nobody Has Listed Yet\nhttps://example.org/nope\n\n# note\n",
        encoding="utf-8",
    )
    result = known.run("subscribers", "like", "reader@example.org", "--file", str(favourites))
    assert result.code == 3
    assert f"{favourites}:4: a link that is not an arXiv paper" in result.stderr
    assert "liked 3 papers: 2 matched in the history, 1 kept with their text; 1 line rejected" in result.stdout
    votes = known.run("subscribers", "votes", "reader@example.org").lines
    assert len(votes) == 3
    waiting = "(not listed yet: its title counts until a listing brings the paper)"
    assert f"like     A Paper Nobody Has Listed Yet  {waiting}" in votes
    assert known.run("subscribers", "like", "reader@example.org", titles[0]).code == 0  # twice: harmless
    assert len(known.run("subscribers", "votes", "reader@example.org").lines) == 3


def test_dislike_replaces_a_like_and_unvote_removes_it(known: Project) -> None:
    title = first_titles(1)[0]
    assert known.run("subscribers", "like", "reader@example.org", title).code == 0
    assert known.run("subscribers", "dislike", "reader@example.org", title).code == 0
    assert known.run("subscribers", "votes", "reader@example.org").lines == [f"dislike  {title}"]
    assert known.run("subscribers", "unvote", "reader@example.org", title).code == 0
    assert known.run("subscribers", "votes", "reader@example.org").lines == []
    missing = known.run("subscribers", "unvote", "reader@example.org", title)
    assert missing.code == 3 and "has no vote" in missing.stderr


def test_export_and_import_round_trip_the_whole_profile(known: Project, tmp_path: Path) -> None:
    titles = first_titles(4)
    known.run("subscribers", "set", "reader@example.org", "--interests", "retrieval, rag", "--frequency", "weekly")
    known.run("subscribers", "like", "reader@example.org", titles[0], titles[1], "Not In The History At All")
    known.run("subscribers", "dislike", "reader@example.org", titles[2])
    known.run("subscribers", "add", "gone@example.org")
    known.run("subscribers", "remove", "gone@example.org")
    exported = known.run("subscribers", "export").stdout
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert rows["reader@example.org"]["interests"] == "rag, retrieval"
    assert rows["reader@example.org"]["frequency"] == "weekly"
    assert len(rows["reader@example.org"]["likes"].splitlines()) == 3

    other = Project(tmp_path / "other", "sqlite:///digest.db")
    other.inbox.mkdir(parents=True)
    other.write_config()
    other.drop(EXAMPLE_DUMPS[0])
    other.run("ingest")
    path = tmp_path / "readers.csv"
    path.write_text(exported, encoding="utf-8")
    result = other.run("subscribers", "import", str(path))
    assert result.code == 0, result.stderr
    assert other.run("subscribers", "export").stdout == exported
    assert (
        known.run("subscribers", "votes", "reader@example.org").stdout
        == other.run("subscribers", "votes", "reader@example.org").stdout
    )
    assert "unsubscribed" in other.run("subscribers", "list", "--status", "unsubscribed").stdout


def test_import_rejects_a_bad_frequency_or_like_with_the_line(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "readers.csv"
    path.write_text(
        'email,frequency,likes\na@example.org,hourly,\nb@example.org,daily,"https://example.org/x"\n'
        "c@example.org,weekly,Some Paper Title\n",
        encoding="utf-8",
    )
    result = project.run("subscribers", "import", str(path))
    assert result.code == 3
    assert f"{path}:2: frequency 'hourly' is not daily or weekly; row skipped" in result.stderr
    assert f"{path}:3: likes: line 1: a link that is not an arXiv paper" in result.stderr
    assert "c@example.org" in project.run("subscribers", "list").stdout
