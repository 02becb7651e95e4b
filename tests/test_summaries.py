"""A listing's own summary of a paper is its TL;DR, in the mail, the archive, the feed and the export."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape
from test_preferences import feed_link
from test_web import Served, start_served

from digest.errors import ExitStatus
from digest.ranking.summarise import TLDR_CHARS, summary

from conftest import Project
from smtp_server import SMTPServer

TITLE = "SkipIndex: Sparse Indexes that Skip Unread Passages"
HOSTILE = '<script>alert(1)</script> =HYPERLINK("x") SkipIndex\x00 skips\x07 passages.'
ABSTRACT = (
    "Retrieval over long documents is slow. We propose SkipIndex, a sparse index that skips unread passages "
    "and answers queries without a dense scan. Experiments show a fivefold speedup."
)


def listing(summary_text: str) -> bytes:
    """A daily-papers listing: the first paper with its own summary, three others without."""
    items = [{"paper": {"id": "2403.05555", "title": TITLE, "summary": ABSTRACT, "authors": [{"name": "A. B."}]},
              "ai_summary": summary_text, "publishedAt": "2026-11-21T06:00:00Z"}]  # fmt: skip
    for n in range(3):
        items.append(
            {
                "paper": {
                    "id": f"2403.0600{n}",
                    "title": f"Protein folding with graph priors, part {n}",
                    "summary": f"Proteins fold slowly. We introduce a graph prior for folding, variant {n}.",
                },
                "publishedAt": "2026-11-21T06:00:00Z",
            }
        )
    return json.dumps({"papers": items}).encode()


def test_the_listings_summary_is_the_tldr_escaped_and_bounded(project: Project, tmp_path: Path) -> None:
    long_summary = HOSTILE + " " + "More words about the index and its passages. " * 400
    project.drop("today.json", data=listing(long_summary))
    assert project.run("run").code == ExitStatus.OK
    expected = summary(TITLE, ABSTRACT, long_summary).text
    assert expected.startswith("<script>") and len(expected) <= TLDR_CHARS and "\x00" not in expected
    assert project.run("preview", "--out", str(tmp_path)).code == ExitStatus.OK
    html_text = next(tmp_path.glob("*.html")).read_text()
    text = next(tmp_path.glob("*.txt")).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text  # (premailer writes quotes in text as they are)
    assert expected.rsplit(") ", 1)[1] in html_text
    assert "<script>alert" not in html_text and "\x00" not in html_text and "\x07" not in html_text
    assert "SkipIndex skips passages." in " ".join(text.split())
    page = next((project.root / "site" / "archive").glob("*.html")).read_text()
    assert "summary given by the listing" in page and "the abstract&#39;s key sentence" in page
    assert "<script>alert" not in page and str(escape(expected)) in page
    rows = {row["title"]: row for row in map(json.loads, project.run("papers", "--json").lines)}
    mine = rows[TITLE]
    assert (mine["tldr"], mine["tldr_source"]) == (expected, "listing")
    other = rows["Protein folding with graph priors, part 0"]
    assert other["tldr_source"] == "abstract" and other["tldr"].startswith("We introduce a graph prior")
    slug = next((project.root / "site" / "archive").glob("*.html")).stem
    assert {row["digest"] for row in rows.values()} == {slug}
    assert all(row["topic"] for row in rows.values())  # four papers: one group, "Other topics"


def test_an_unpublished_paper_has_no_digest_or_topic_yet(project: Project) -> None:
    project.drop("today.json", data=listing("A summary."))
    assert project.run("ingest").code == ExitStatus.OK
    rows = [json.loads(line) for line in project.run("papers", "--json").lines]
    assert rows and all(row["digest"] is None and row["topic"] is None for row in rows)
    assert {row["tldr_source"] for row in rows} == {"listing", "abstract"}


def test_a_blank_listing_summary_leaves_the_abstracts_own() -> None:
    assert summary(TITLE, ABSTRACT, " \x00 \n").source == "abstract"
    assert summary(TITLE, ABSTRACT, None).text.startswith("We propose SkipIndex")


@given(st.text(max_size=3000))
def test_any_listing_summary_becomes_a_short_clean_tldr(provided: str) -> None:
    found = summary(TITLE, ABSTRACT, provided)
    assert len(found.text) <= TLDR_CHARS
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in found.text)
    assert found.text.strip() and found.text == " ".join(found.text.split())
    if found.source == "listing":
        assert set(found.text) <= set(provided) | {" ", "…"}


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Served:
    with start_served(tmp_path, smtp_server) as running:
        yield running  # type: ignore[misc]


def test_the_personal_feed_shows_the_listings_summary(served: Served) -> None:
    import feedparser

    run = served.project.run
    served.project.drop("today.json", data=listing(HOSTILE))
    assert run("run").code == ExitStatus.OK
    run("subscribers", "add", "ada@example.org")
    run("send")
    url, _ = feed_link(served, "ada@example.org")
    body = httpx.get(url).content
    assert b"<script>" not in body and b"\x00" not in body
    parsed = feedparser.parse(body)
    entry = next(entry for entry in parsed.entries if entry.title == TITLE)
    assert "SkipIndex skips passages." in entry.content[0].value


@pytest.mark.postgres
def test_the_export_names_digest_and_topic_on_postgresql(pg_project: Project) -> None:
    pg_project.drop("today.json", data=listing("A summary of the index."))
    assert pg_project.run("run").code == ExitStatus.OK
    rows = {row["title"]: row for row in map(json.loads, pg_project.run("papers", "--json").lines)}
    assert rows[TITLE]["tldr"] == "A summary of the index." and rows[TITLE]["tldr_source"] == "listing"
    assert all(row["digest"] and row["topic"] for row in rows.values())
