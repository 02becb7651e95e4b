"""Listings beyond text dumps: daily-papers JSON, arXiv RSS and API Atom, and one identity across them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from digest.errors import DumpError, ExitStatus
from digest.listings.formats import detect, parse_listing
from digest.listings.identity import arxiv_id

from conftest import EXAMPLE_DUMPS, Project

LISTINGS = Path(__file__).parent / "data" / "listings"
TODAY = dt.date(2026, 11, 22)


def parse(name: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
    dump = parse_listing((LISTINGS / name).read_bytes(), today=TODAY)
    return [(paper.title, paper.details.arxiv_id, paper.details.authors) for paper in dump.papers]


@pytest.mark.parametrize(
    "text",
    [
        "2403.01234",
        "2403.01234v2",
        "arXiv:2403.01234",
        "https://arxiv.org/abs/2403.01234v3",
        "http://arxiv.org/pdf/2403.01234v1.pdf",
        "oai:arXiv.org:2403.01234v1",
    ],
)
def test_every_spelling_of_an_arxiv_id_is_one_id(text: str) -> None:
    assert arxiv_id(text) == "2403.01234"


def test_old_style_ids_and_non_ids() -> None:
    assert arxiv_id("hep-th/9901001") == arxiv_id("arXiv:hep-th/9901001v2") == "hep-th/9901001"
    assert arxiv_id("math.AG/0601001v1") == "math.AG/0601001"
    assert arxiv_id("see 12403.012345") is None and arxiv_id("") is None and arxiv_id(None) is None


def test_the_format_is_told_by_content_not_name() -> None:
    assert detect('  [{"paper": {}}]') == detect('{"papers": []}') == "json"
    assert detect("<?xml version='1.0'?><rss/>") == "feed"
    assert detect("Mar 12\nA Title\nAn abstract of words.") == "text"


def test_daily_papers_json_with_the_fields_under_paper() -> None:
    dump = parse_listing((LISTINGS / "daily_papers_nested.json").read_bytes(), today=TODAY)
    first = dump.papers[0]
    assert first.title.startswith("Stochastic Interpolants")
    assert first.details.arxiv_id == "2403.01234" and first.details.upvotes == 40
    assert first.details.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra")
    assert first.details.abs_url == "https://arxiv.org/abs/2403.01234"
    assert first.details.pdf_url == "https://arxiv.org/pdf/2403.01234"
    assert first.code_links[0].url == "https://github.com/example/interpolants"
    assert dump.papers[1].details.summary == "A short provided summary of the paper."
    assert dump.listed_on == dt.date(2026, 3, 13) and len(dump.papers) == 4 and dump.skipped == ()


def test_daily_papers_json_with_the_fields_at_the_top_and_an_item_without_a_title() -> None:
    dump = parse_listing((LISTINGS / "daily_papers_flat.json").read_bytes(), today=TODAY)
    assert [paper.details.arxiv_id for paper in dump.papers] == ["2403.01234", "2403.02345", "2403.03456"]
    assert [paper.rank for paper in dump.papers] == [1, 2, 3]
    (note,) = dump.skipped
    assert note == "item 2 (2403.09999) has no title"


def test_arxiv_rss() -> None:
    dump = parse_listing((LISTINGS / "arxiv.rss").read_bytes(), today=TODAY)
    first = dump.papers[0]
    assert first.details.arxiv_id == "2403.01234"
    assert first.details.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra")
    assert first.abstract.startswith("A class of generative models")  # the "arXiv:... Abstract:" preamble is gone
    assert dump.listed_on == dt.date(2026, 3, 13) and len(dump.papers) == 4


def test_arxiv_api_atom() -> None:
    assert parse("arxiv_api.atom")[1][1:] == ("2403.02345", ("Barbara Liskov",))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ((LISTINGS / "truncated.json").read_bytes(), "not valid JSON"),
        (b'{"nothing": "here"}', "without a list of papers"),
        (b"[]", "no papers in the JSON listing"),
        (b"<rss><channel><item><title>cut", "not a readable feed"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', "no entries"),
    ],
)
def test_an_unreadable_listing_is_rejected_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(DumpError, match=reason):
        parse_listing(data, today=TODAY)


def ingested(project: Project, path: Path) -> dict[str, object]:
    (row,) = [json.loads(line) for line in project.run("ingest", "--json", str(path)).lines]
    return row  # type: ignore[no-any-return]


def papers(project: Project) -> dict[str, dict[str, object]]:
    return {row["title"]: row for row in map(json.loads, project.run("papers", "--json", "--limit", "500").lines)}


def test_a_paper_first_seen_in_a_text_dump_gains_its_id_and_authors_and_is_not_new(project: Project) -> None:
    assert project.run("ingest", str(EXAMPLE_DUMPS[1])).code == ExitStatus.OK
    before = papers(project)
    row = ingested(project, LISTINGS / "arxiv.rss")
    assert (row["status"], row["papers"], row["new"]) == ("ingested", 4, 0)
    after = papers(project)
    interpolants = next(value for title, value in after.items() if title.startswith("Stochastic Interpolants"))
    assert interpolants["arxiv_id"] == "2403.01234"
    assert interpolants["url"] == "https://arxiv.org/abs/2403.01234"
    assert interpolants["pdf_url"] == "https://arxiv.org/pdf/2403.01234"
    assert interpolants["authors"] == ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"]
    assert len(after) == len(before)
    # The JSON listing of the same papers, later: known by id now, nothing new; upvotes are taken.
    (again,) = [
        json.loads(line) for line in project.run("ingest", "--json", str(LISTINGS / "daily_papers_nested.json")).lines
    ]
    assert again["new"] == 0
    assert papers(project)[str(interpolants["title"])]["upvotes"] == 40


def test_a_paper_first_seen_with_an_id_is_known_to_a_later_text_dump(project: Project) -> None:
    (row,) = [
        json.loads(line) for line in project.run("ingest", "--json", str(LISTINGS / "daily_papers_nested.json")).lines
    ]
    assert row["new"] == 4
    text = ingested(project, EXAMPLE_DUMPS[1])
    assert (text["papers"], text["new"]) == (44, 40)
    same = [row for row in papers(project).values() if row["arxiv_id"] == "2403.01234"]
    assert len(same) == 1


def test_listings_of_other_formats_are_picked_up_from_the_inbox_and_shown_with_links(project: Project) -> None:
    project.drop(LISTINGS / "daily_papers_nested.json", "today.json")
    project.drop(LISTINGS / "truncated.json", "cut.json")
    result = project.run("run")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: rejected cut.json: line ") and "not valid JSON" in line
    page = next((project.root / "site" / "archive").glob("*.html")).read_text()
    assert (
        'href="https://arxiv.org/abs/2403.01234"' in page and "Ada Lovelace, Alan Turing, Grace Hopper et al." in page
    )
    assert 'href="https://arxiv.org/pdf/2403.01234"' in page and "Search arXiv" not in page
    rss = (project.root / "site" / "feed.xml").read_text()
    assert "<link>https://arxiv.org/abs/2403.01234</link>" in rss
    assert "<dc:creator>Ada Lovelace, Alan Turing, Grace Hopper, Edsger Dijkstra</dc:creator>" in rss


def test_the_mail_links_the_paper_and_names_its_authors(project: Project, tmp_path: Path) -> None:
    project.drop(LISTINGS / "daily_papers_nested.json", "today.json")
    assert project.run("run").code == ExitStatus.OK
    assert project.run("preview", "--out", str(tmp_path)).code == ExitStatus.OK
    html_text = next(tmp_path.glob("*.html")).read_text()
    text = next(tmp_path.glob("*.txt")).read_text()
    assert '<a href="https://arxiv.org/abs/2403.01234"' in html_text and "40 upvotes" in html_text
    assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in html_text and "Search arXiv" not in html_text
    assert "PDF: https://arxiv.org/pdf/2403.01234" in text and "Ada Lovelace, Alan Turing, Grace Hopper et al." in text


@pytest.mark.postgres
def test_cross_format_identity_on_postgresql(pg_project: Project) -> None:
    assert ingested(pg_project, EXAMPLE_DUMPS[1])["new"] == 44
    assert ingested(pg_project, LISTINGS / "arxiv.rss")["new"] == 0
    assert ingested(pg_project, LISTINGS / "daily_papers_nested.json")["new"] == 0
    known = [row for row in papers(pg_project).values() if row["arxiv_id"]]
    assert sorted(str(row["arxiv_id"]) for row in known) == ["2403.01234", "2403.02345", "2403.03456", "2403.04567"]
    assert all(row["authors"] for row in known) and known[0]["upvotes"] is not None


def test_a_recent_archive_page_takes_the_details_a_later_listing_lends(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[1])
    assert project.run("run").code == ExitStatus.OK
    page = project.root / "site" / "archive" / "2026-03-14.html"
    assert "Search arXiv" in page.read_text() and "https://arxiv.org/abs/2403.01234" not in page.read_text()
    project.drop(LISTINGS / "arxiv.rss", "later.xml")
    assert project.run("run").code == ExitStatus.OK  # nothing new to publish; the pages are refreshed
    assert 'href="https://arxiv.org/abs/2403.01234"' in page.read_text()
