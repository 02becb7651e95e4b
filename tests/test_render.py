"""The email as read: golden files, escaping, size, excerpts, wrapping, templates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from digest import render
from digest.compose import excerpt
from digest.config import EmailConfig, SiteConfig
from digest.errors import ConfigError
from digest.models import Digest, Link, StoredPaper
from digest.render import EMAIL_HTML_BUDGET, Renderer, personalise

from conftest import EXAMPLE_DUMPS, NOW, ROOT
from golden import assert_golden

GOLDEN = ROOT / "tests" / "data"
SITE = SiteConfig(dir=Path("/nonexistent"), url="https://digest.example.org/", title="Trending papers")
EMAIL = EmailConfig(sender="Digest <d@example.org>", subject="{count} new papers for {date:%d %b %Y}", max_papers=40)
HOSTILE = ["<script>alert(1)</script>", "{{ 7*7 }}", "</title><b>x</b>", '" onmouseover="alert(1)', "&amp; &lt;"]


def stored(n: int, title: str, abstract: str, links: tuple[Link, ...] = ()) -> StoredPaper:
    return StoredPaper(
        id=n,
        title=title,
        abstract=abstract,
        links=links,
        first_dump_id=1,
        first_rank=n,
        first_seen_on=dt.date(2026, 3, 12),
        first_seen_at=NOW,
    )


def make_digest(papers: list[StoredPaper], slug: str = "2026-03-12") -> Digest:
    return Digest(
        slug=slug,
        date=dt.date(2026, 3, 12),
        papers=tuple(papers),
        seen_before=7,
        dump_dates=(dt.date(2026, 3, 12),),
        first_dump_id=1,
        last_dump_id=1,
        published_at=NOW,
    )


def scrub(text: str) -> str:
    """Replace the placeholder token (derived from the digest) with a fixed name."""
    return re.sub(r"%%unsubscribe-[0-9a-f]+%%", "%%unsubscribe%%", text)


@pytest.fixture(scope="module")
def example_digests(tmp_path_factory: pytest.TempPathFactory) -> list[Digest]:
    """The digests of the three example dumps, ingested and published one at a time."""
    from digest.config import load_config
    from digest.ingest import IngestContext, ingest_paths
    from digest.pipeline import publish
    from digest.store import open_store

    root = tmp_path_factory.mktemp("golden")
    (root / "schedule.yaml").write_text(
        "timezone: UTC\ninbox: inbox\ndatabase: sqlite:///d.db\n"
        "site: {url: 'https://digest.example.org/', dir: site}\n"
        "email: {subject: '{count} new papers for {date:%d %b %Y}'}\n"
    )
    config = load_config(root / "schedule.yaml", {})
    digests = []
    with open_store(config.database, now=NOW) as store:
        for index, path in enumerate(EXAMPLE_DUMPS):
            now = NOW + dt.timedelta(days=index)
            ingest_paths(store, [path], IngestContext(inbox=config.inbox, timezone=config.timezone, now=now))
            result = publish(store, config, now=now)
            assert result.digest is not None
            digests.append(result.digest)
    return digests


def test_the_example_digests_match_their_golden_files(example_digests: list[Digest]) -> None:
    renderer = Renderer(SITE, EMAIL)
    assert [d.new_count for d in example_digests] == [89, 23, 51]
    for digest, path in zip(example_digests, EXAMPLE_DUMPS, strict=True):
        rendered = renderer.email_message(digest)
        html_text, text = personalise(rendered, unsubscribe_url="https://digest.example.org/unsubscribe/TOKEN")
        case = GOLDEN / path.stem[:3]
        assert_golden(case / "email.html", scrub(html_text))
        assert_golden(case / "email.txt", scrub(text))
        assert_golden(case / "subject.txt", rendered.subject + "\n")


def test_the_email_says_what_a_reader_needs(example_digests: list[Digest]) -> None:
    digest = example_digests[1]
    rendered = Renderer(SITE, EMAIL).email_message(digest)
    html_text, text = personalise(rendered, unsubscribe_url="https://digest.example.org/u/abc?x=1&y=2")
    assert rendered.subject == "23 new papers for 14 Mar 2026"
    assert "Saturday, 14 March 2026" in html_text
    assert "23 new papers" in html_text and "21 listed in an earlier digest" in html_text
    assert "21 listed in an earlier digest" in text and "sent" not in text.split("\n\n", 1)[0]
    # Unsubscribe and "view in browser" before the first paper (clipping cannot hide them) and in the footer.
    first_paper = html_text.index('class="paper-title"')
    assert html_text.index("https://digest.example.org/u/abc?x=1&amp;y=2") < first_paper
    assert html_text.count("https://digest.example.org/u/abc?x=1&amp;y=2") == 2
    assert html_text.index("View in browser") < first_paper
    assert "https://digest.example.org/feed.xml" in html_text
    # The preheader is hidden the way large senders hide it, with no low-contrast colour
    # (which spam filters score as hidden text, HTML_FONT_LOW_CONTRAST).
    preheader_style = re.search(r'<div class="preheader" style="([^"]*)"', html_text)
    assert preheader_style is not None
    assert all(rule in preheader_style.group(1) for rule in ("display:none", "max-height:0", "opacity:0"))
    assert "color" not in preheader_style.group(1)
    # CSS is inlined; the media queries for phones and dark mode stay in a style block.
    assert 'style="' in html_text and "prefers-color-scheme: dark" in html_text
    assert "max-width: 480px" in html_text
    # The text part carries the same papers, links and unsubscribe URL.
    assert "https://digest.example.org/u/abc?x=1&y=2" in text
    assert all(paper.title.split()[0] in text for paper in digest.papers)


def test_code_links_show_as_a_badge_and_titles_link_to_the_archive(example_digests: list[Digest]) -> None:
    digest = example_digests[0]
    html_text = Renderer(SITE, EMAIL).email_message(digest).html
    with_code = next(p for p in digest.papers[:40] if any(link.kind == "code" for link in p.links))
    code = next(link.url for link in with_code.links if link.kind == "code")
    assert re.search(rf'<a class="badge" href="{re.escape(code)}"[^>]*>GitHub</a>', html_text)
    assert f'href="https://digest.example.org/archive/2026-03-12.html#paper-{with_code.id}"' in html_text
    assert "https://arxiv.org/search/?searchtype=title&amp;query=" in html_text


def test_above_the_cap_the_email_links_to_the_rest(example_digests: list[Digest]) -> None:
    rendered = Renderer(SITE, EMAIL).email_message(example_digests[0])
    assert rendered.shown == 40
    assert "and 49 more papers in the archive" in rendered.html
    assert "...and 49 more papers in the archive" in rendered.text


def test_hostile_text_is_escaped_everywhere(tmp_path: Path) -> None:
    papers = [stored(i + 1, f"Title {text}", f"Abstract {text} " + "word " * 30) for i, text in enumerate(HOSTILE)]
    digest = make_digest(papers)
    renderer = Renderer(SITE, EMAIL)
    email_html = renderer.email_message(digest).html
    page = renderer.digest_page(digest)
    for document in (email_html, page):
        assert "<script>" not in document
        assert "</title><b>" not in document
        assert not re.search(r"<[^>]*\sonmouseover=", document)
        assert "{{ 7*7 }}" in document and ">49<" not in document
        assert "&amp;amp; &amp;lt;" in document
    from digest.feed import build_feeds
    from digest.store.digests import FeedItem

    feeds = build_feeds([FeedItem(p, digest.slug, digest.published_at) for p in papers], SITE)
    for xml in (feeds.rss, feeds.atom):
        assert b"<script>" not in xml and b"</title><b>" not in xml


def test_every_email_fits_gmail_whatever_the_number_of_papers() -> None:
    title = "Ünïcødé & <Markup> " * 15  # 285 characters of the costliest kind
    links = tuple(Link(f"https://github.com/lab/{'x' * 40}{i}", "code") for i in range(5))
    papers = [stored(i + 1, f"{title}{i}", "Ω≈ç√ " * 400, links) for i in range(1000)]
    before = render.premailer_calls
    rendered = Renderer(SITE, EMAIL).email_message(make_digest(papers))
    assert render.premailer_calls - before == 1
    assert len(rendered.html.encode("utf-8")) <= EMAIL_HTML_BUDGET
    assert 20 <= rendered.shown <= 40
    assert f"and {1000 - rendered.shown} more papers" in rendered.html
    assert rendered.html.count('class="paper-title"') == rendered.shown


def test_a_very_large_cap_still_fits() -> None:
    papers = [stored(i + 1, f"A long title number {i} " * 12, "words and more words " * 100) for i in range(400)]
    email = dataclasses.replace(EMAIL, max_papers=400)
    rendered = Renderer(SITE, email).email_message(make_digest(papers))
    assert len(rendered.html.encode("utf-8")) <= EMAIL_HTML_BUDGET
    assert 1 <= rendered.shown < 400
    assert f"and {400 - rendered.shown} more papers" in rendered.html


def test_the_text_part_is_wrapped_at_72_columns(example_digests: list[Digest]) -> None:
    text = Renderer(SITE, EMAIL).email_message(example_digests[0]).text
    for line in text.splitlines():
        assert len(line) <= 72 or "://" in line, line


@pytest.mark.parametrize("limit", [50, 120, 300])
def test_excerpts_cut_at_a_boundary_with_an_ellipsis(limit: int) -> None:
    abstract = (
        "We present Alpha, a model. It reads long inputs quickly and well, and it answers questions "
        "about them with citations to the passages it used; we evaluate it on eleven benchmarks and "
        "find consistent gains over strong baselines across domains, languages and lengths of input "
        "text, including very long legal and scientific documents that other models truncate."
    )
    cut = excerpt(abstract, limit)
    assert cut.endswith("…") and len(cut) <= limit + 2
    stem = cut.rstrip(" …")
    assert abstract.startswith(stem)
    assert abstract[len(stem)] in " .,;"  # never mid-word
    assert excerpt("Short and whole.", limit) == "Short and whole."


def test_a_users_template_overrides_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "email.txt.j2").write_text("Custom: {{ digest.new_count }} papers\n{{ unsubscribe_url }}\n")
    rendered = Renderer(SITE, EMAIL, tmp_path).email_message(make_digest([stored(1, "T", "a b c d")]))
    assert rendered.text.startswith("Custom: 1 papers")
    assert "Trending papers" in rendered.html  # the bundled HTML template still serves


def test_a_missing_template_names_the_paths_searched(tmp_path: Path) -> None:
    renderer = Renderer(SITE, EMAIL, tmp_path)
    with pytest.raises(ConfigError, match="template not found") as caught:
        renderer.render("nope.html.j2")
    assert str(tmp_path) in caught.value.one_line() and "templates" in caught.value.one_line()


def test_an_undefined_name_in_a_template_is_an_error(tmp_path: Path) -> None:
    import jinja2

    (tmp_path / "email.txt.j2").write_text("{{ no_such_thing }}\n")
    with pytest.raises(jinja2.UndefinedError):
        Renderer(SITE, EMAIL, tmp_path).email_message(make_digest([stored(1, "T", "a b c d")]))
