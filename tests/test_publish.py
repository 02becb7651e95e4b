"""``digest publish`` and ``preview``: the digest, the archive and the feeds as readers get them."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from pathlib import Path

import feedparser

from digest.errors import ExitStatus

from conftest import EXAMPLE_DUMPS, NOW, Project

SITE = "https://digest.example.org/"
ABSTRACT = "We propose a thing and show that it works on every benchmark we tried, twice over."


def publish_examples(project: Project) -> None:
    """Ingest and publish the example dumps one day apart."""
    for index, path in enumerate(EXAMPLE_DUMPS):
        now = NOW + dt.timedelta(days=index)
        assert project.run("ingest", str(path), now=now).code == 0
        assert project.run("publish", now=now).code == 0


def test_publish_records_one_digest_per_batch_of_new_papers(project: Project) -> None:
    publish_examples(project)
    site = project.root / "site"
    pages = sorted(p.name for p in (site / "archive").iterdir())
    assert pages == ["2026-03-11.html", "2026-03-12.html", "2026-03-14.html"]
    # Nothing new: nothing published, and the output is unchanged.
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    result = project.run("publish", "--verbose", now=NOW + dt.timedelta(days=5))
    assert result.code == 0 and "nothing new since the last digest" in result.stdout
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    status = json.loads(project.run("status", "--json").stdout)
    assert status["last_digest"]["papers"] == 51


def test_a_digest_covers_every_dump_since_the_last(project: Project) -> None:
    for path in EXAMPLE_DUMPS[:2]:
        project.run("ingest", str(path))
    project.run("publish")
    index = (project.root / "site" / "index.html").read_text()
    assert "Saturday, 14 March 2026" in index and ">112<" in index  # 89 + 23 new papers in one digest
    page = (project.root / "site" / "archive" / "2026-03-14.html").read_text()
    assert page.count("<article ") == 112
    # The second dump repeats 21 papers of the first, but both are in this one digest: no repeats to mention.
    assert "listed in an earlier digest" not in page


def test_publish_is_quiet_without_a_terminal(project: Project) -> None:
    project.run("ingest", str(EXAMPLE_DUMPS[0]))
    result = project.run("publish")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")


def test_the_rss_feed_is_valid_and_complete(project: Project) -> None:
    publish_examples(project)
    raw = (project.root / "site" / "feed.xml").read_bytes()
    feed = feedparser.parse(raw)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert len(feed.entries) == 163
    assert feed.feed.link == SITE
    assert any(link.rel == "self" and link.href == f"{SITE}feed.xml" for link in feed.feed.links)
    guids = [entry.id for entry in feed.entries]
    assert len(set(guids)) == 163 and all(re.fullmatch(r"tag:digest\.example\.org,2026:paper/\d+", g) for g in guids)
    assert b'<guid isPermaLink="false">' in raw
    # Newest first: the last digest's papers lead, in listing order.
    assert feed.entries[0].title.startswith("Value Kaleidoscope")
    # Dated by the listing they appeared in (2026-03-11, 12, 14), not by when they were ingested
    # (2026-11-22 to 24), at the time of day their digest was published.
    dates = {dt.date(*entry.published_parsed[:3]) for entry in feed.entries}
    assert dates == {dt.date(2026, 3, 11), dt.date(2026, 3, 12), dt.date(2026, 3, 14)}
    assert feed.entries[0].published_parsed[:6] == (2026, 3, 11, 9, 0, 0)
    # RFC 822 dates with a zone; absolute links everywhere.
    assert re.search(rb"<pubDate>\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000</pubDate>", raw)
    assert re.search(rb"<lastBuildDate>Sat, 14 Mar 2026 09:00:00 \+0000</lastBuildDate>", raw)
    assert all(entry.link.startswith(f"{SITE}archive/") and "#paper-" in entry.link for entry in feed.entries)
    assert not re.search(rb'href="(?!https?://)', raw.replace(b"&quot;", b'"'))
    # The description is the escaped abstract with its links.
    with_code = next(e for e in feed.entries if "github.com" in e.description)
    assert '<a href="https://github.com/' in with_code.description


def test_the_atom_feed_parses_too(project: Project) -> None:
    publish_examples(project)
    feed = feedparser.parse((project.root / "site" / "atom.xml").read_bytes())
    assert feed.bozo == 0 and feed.version == "atom10"
    assert len(feed.entries) == 163
    selves = [link.href for link in feed.feed.links if link.rel == "self"]
    assert selves == [f"{SITE}atom.xml"]
    # HTML content marked as HTML (readers otherwise show raw <p> and &#x27;), and an author (RFC 4287).
    raw = (project.root / "site" / "atom.xml").read_bytes()
    assert raw.count(b'<content type="html">') == 163
    assert feed.feed.author == "Trending papers"
    assert all(e.content[0].type == "text/html" and e.content[0].value.startswith("<p>") for e in feed.entries)
    assert dt.date(*feed.entries[-1].published_parsed[:3]) == dt.date(2026, 3, 12)


def test_the_feed_keeps_the_200_most_recent_papers(project: Project) -> None:
    publish_examples(project)
    blocks = "\n".join(f"Fresh Paper {i}\n{ABSTRACT} Number {i}." for i in range(60))
    project.drop("x", "fresh.txt", data=f"Mar 20\n{blocks}\n".encode())
    project.run("ingest")
    project.run("publish", now=NOW + dt.timedelta(days=9))
    feed = feedparser.parse((project.root / "site" / "feed.xml").read_bytes())
    assert len(feed.entries) == 200
    assert feed.entries[0].title == "Fresh Paper 0"


def test_rebuilding_with_nothing_new_is_byte_identical(project: Project) -> None:
    publish_examples(project)
    feed = (project.root / "site" / "feed.xml").read_bytes()
    project.run("publish", "--rebuild", now=NOW + dt.timedelta(days=30))
    assert (project.root / "site" / "feed.xml").read_bytes() == feed


def test_an_empty_history_publishes_an_empty_valid_feed(project: Project) -> None:
    assert project.run("publish").code == 0
    feed = feedparser.parse((project.root / "site" / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.entries == []
    assert "No digest has been published yet" in (project.root / "site" / "index.html").read_text()


def test_archive_pages_hold_every_paper_with_an_anchor(project: Project) -> None:
    publish_examples(project)
    site = project.root / "site"
    page = (site / "archive" / "2026-03-12.html").read_text()
    ids = re.findall(r'<article id="paper-(\d+)">', page)
    assert len(ids) == 89 == len(set(ids))
    assert '<link rel="canonical" href="https://digest.example.org/archive/2026-03-12.html">' in page
    assert 'href="../index.html"' in page  # navigation works opened from disk
    assert "<script" not in page
    index = (site / "index.html").read_text()
    listed = re.findall(r'href="archive/([\d-]+)\.html"', index)
    assert listed == ["2026-03-11", "2026-03-14", "2026-03-12"]  # newest digest first
    assert index.count("<rect ") == 3 and "<svg" in index and 'role="img"' in index


def test_a_half_written_site_is_mended_by_the_next_publish(project: Project) -> None:
    publish_examples(project)
    page = project.root / "site" / "archive" / "2026-03-12.html"
    page.unlink()
    project.run("publish")
    assert page.exists()
    leftovers = [p for p in (project.root / "site").rglob(".*.tmp")]
    assert leftovers == []


def test_preview_writes_html_text_and_a_complete_eml(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = project.run("preview", "--dump", str(EXAMPLE_DUMPS[1]), "--out", str(out))
    assert result.code == 0, result.stderr
    assert "papers:  44 in the mail of 44" in result.stdout
    size = re.search(r"\((\d+\.\d) KB; Gmail clips above 102 KB\)", result.stdout)
    assert size and float(size.group(1)) < 100
    eml = out / "digest-2026-03-14.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert message["Subject"] == "44 new papers for 2026-03-14"
    assert (out / "digest-2026-03-14.html").read_text().startswith("<!DOCTYPE html>")
    assert (out / "digest-2026-03-14.txt").read_text().startswith("TRENDING PAPERS")


def test_preview_of_the_latest_digest(project: Project, tmp_path: Path) -> None:
    assert project.run("preview", "--out", str(tmp_path)).code == ExitStatus.USAGE
    project.run("ingest", str(EXAMPLE_DUMPS[0]))
    pending = project.run("preview", "--out", str(tmp_path))  # not yet published: what publish would send
    assert pending.code == 0 and "89 in the mail of 89" in pending.stdout
    project.run("publish")
    assert "89 in the mail of 89" in project.run("preview", "--latest", "--out", str(tmp_path)).stdout


def test_preview_of_a_bad_dump_is_one_line(project: Project, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("Only A Title\n")
    result = project.run("preview", "--dump", str(bad), "--out", str(tmp_path))
    assert result.code == ExitStatus.FAILURE
    (line,) = result.stderr.splitlines()
    assert "line 1:" in line and "Traceback" not in line
