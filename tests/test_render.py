"""The email as read: golden files, escaping, size, excerpts, wrapping, templates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from pathlib import Path

import pytest

from digest.config import EmailConfig, SiteConfig
from digest.errors import ConfigError
from digest.listings.compose import excerpt
from digest.mail.assemble import Assembled, Reader, assemble
from digest.mail.blocks import DigestEmail, render_email
from digest.models import Digest, Link, StoredPaper, Topic
from digest.ranking.topics import digest_topics
from digest.site import render
from digest.site.render import EMAIL_HTML_BUDGET, Renderer
from digest.site.tex import title_text

from conftest import EXAMPLE_DUMPS, NOW, ROOT
from golden import assert_golden

GOLDEN = ROOT / "tests" / "data"
SITE = SiteConfig(dir=Path("/nonexistent"), url="https://digest.example.org/", title="Trending papers")
EMAIL = EmailConfig(sender="Digest <d@example.org>", subject="{count} new papers for {date:%d %b %Y}", for_you=10)
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


VOTE = "https://digest.example.org/vote/TOKEN"
UNSUBSCRIBE = "https://digest.example.org/unsubscribe/TOKEN"
PREFERENCES = "https://digest.example.org/preferences/TOKEN"


def mail(
    digest: Digest,
    renderer: Renderer | None = None,
    *,
    order: tuple[int, ...] | None = None,
    reasons: dict[int, str] | None = None,
    unsubscribe: str = UNSUBSCRIBE,
) -> tuple[str, str, Assembled, DigestEmail]:
    """A reader's mail: by default one without a profile (the listing's order); a published digest's kept topics."""
    renderer = renderer or Renderer(SITE, EMAIL)
    kept = KEPT_TOPICS.get(digest.id) if digest.id is not None else None
    email = render_email(digest, renderer, kept or digest_topics(digest.papers))
    reader = Reader(
        order if order is not None else tuple(range(len(digest.papers))),
        reasons or {},
        order is not None,
        VOTE,
        unsubscribe,
        PREFERENCES,
    )
    assembled = assemble(email, reader, for_you=renderer.email.for_you)
    return assembled.html.decode(), assembled.text.decode(), assembled, email


#: The topics publishing kept for the example digests (measured against the history then), by digest id.
KEPT_TOPICS: dict[int, list[Topic]] = {}


@pytest.fixture(scope="module")
def example_digests(tmp_path_factory: pytest.TempPathFactory) -> list[Digest]:
    """The digests of the three example dumps, ingested and published one at a time."""
    from digest.config import load_config
    from digest.listings.ingest import IngestContext, ingest_paths
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
            assert result.digest is not None and result.digest.id is not None
            digests.append(result.digest)
            KEPT_TOPICS[result.digest.id] = store.digests.topics(result.digest.id) or []
    return digests


def test_the_example_digests_match_their_golden_files(example_digests: list[Digest]) -> None:
    assert [d.new_count for d in example_digests] == [89, 23, 51]
    for digest, path in zip(example_digests, EXAMPLE_DUMPS, strict=True):
        html_text, text, _, email = mail(digest)
        case = GOLDEN / path.stem[:3]
        assert_golden(case / "email.html", html_text)
        assert_golden(case / "email.txt", text)
        assert_golden(case / "subject.txt", email.subject + "\n")


def test_no_line_the_templates_write_needs_dot_stuffing(example_digests: list[Digest]) -> None:
    """SMTP doubles a line's leading dot, and a DKIM signature must then be computed without it: a scan of every
    signed message. The bundled templates start no line with one (titles and abstracts seldom do)."""
    from digest.mail.signing import stuffed_lines
    from digest.mail.smtp import SMTPTransport

    smtp = SMTPTransport("smtp://127.0.0.1:25", sender="d@example.org", timeout=1, rate=0)  # (connects to nothing)
    for digest in example_digests:
        *_, email = mail(digest)
        for part in (email.html, email.text):
            assert not stuffed_lines(smtp.wire_format(block) for block in part.every())


def test_a_personal_mail_matches_its_golden_file(example_digests: list[Digest]) -> None:
    """A reader who follows retrieval and speech: their papers first, each with its reason."""
    from digest.models import Profile
    from digest.ranking.features import rank_papers

    digest = example_digests[0]
    ranking = rank_papers(digest.papers, Profile(interests=("retrieval", "speech")))
    html_text, text, _, _ = mail(digest, order=ranking.order, reasons=ranking.reasons)
    assert_golden(GOLDEN / "000" / "personal.txt", text)
    assert "For you" in html_text and "Why:" in html_text and "matches retrieval" in html_text


def test_the_email_says_what_a_reader_needs(example_digests: list[Digest]) -> None:
    digest = example_digests[1]
    html_text, text, _, email = mail(digest, unsubscribe="https://digest.example.org/u/abc?x=1&y=2")
    assert email.subject == "23 new papers for 14 Mar 2026"
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
    assert f"23 new: {digest.papers[0].title}" in html_text
    # CSS is inlined; the media queries for phones and dark mode stay in a style block.
    assert 'style="' in html_text and "prefers-color-scheme: dark" in html_text
    assert "max-width: 480px" in html_text
    # The text part carries the same papers, links and unsubscribe URL.
    assert "https://digest.example.org/u/abc?x=1&y=2" in text
    assert all(paper.title.split()[0] in text for paper in digest.papers)
    assert "%%" not in html_text and "%%" not in text


def test_every_paper_is_in_the_mail_once_top_ones_as_cards_the_rest_by_topic(example_digests: list[Digest]) -> None:
    digest = example_digests[0]
    html_text, text, assembled, email = mail(digest)
    assert assembled.shown == 89 and assembled.left_out == 0
    assert html_text.count('class="paper-title"') == EMAIL.for_you
    assert html_text.count('class="line"') == 89 - EMAIL.for_you
    for paper in digest.papers:
        assert html_text.count(f">{html.escape(title_text(paper.title), quote=False)}</a>") == 1, paper.title
    assert "Top papers" in html_text and "For you" not in html_text  # no profile: the listing's order
    assert html_text.index("Also new") < html_text.index(f'id="{email.topics[0].anchor}"')
    assert f'href="#{email.topics[0].anchor}"' in html_text
    assert html_text.count("More like this") == EMAIL.for_you and html_text.count("Less like this") == EMAIL.for_you
    assert f"{VOTE}/{digest.papers[0].id}/more" in html_text and f"{VOTE}/{digest.papers[0].id}/less" in text
    assert "ALSO NEW" in text and email.topics[0].label.upper() in text


def test_cards_give_the_tldr_not_the_background_opening(example_digests: list[Digest]) -> None:
    from digest.ranking.summarise import tldr

    digest = example_digests[0]
    html_text, _, _, _ = mail(digest)
    for paper in digest.papers[: EMAIL.for_you]:
        assert html.escape(tldr(paper.abstract), quote=False) in html_text


def test_code_links_show_as_a_badge_and_titles_link_to_the_archive(example_digests: list[Digest]) -> None:
    digest = example_digests[0]
    html_text, _, _, _ = mail(digest)
    with_code = next(p for p in digest.papers[:10] if any(link.kind == "code" for link in p.links))
    code = next(link.url for link in with_code.links if link.kind == "code")
    assert re.search(rf'<a class="badge" href="{re.escape(code)}"[^>]*>GitHub</a>', html_text)
    assert f'href="https://digest.example.org/archive/2026-03-12.html#paper-{with_code.id}"' in html_text
    assert "https://arxiv.org/search/?searchtype=title&amp;query=" in html_text


def test_hostile_text_is_escaped_everywhere(tmp_path: Path) -> None:
    papers = [stored(i + 1, f"Title {text}", f"Abstract {text} " + "word " * 30) for i, text in enumerate(HOSTILE)]
    digest = make_digest(papers)
    renderer = Renderer(SITE, EMAIL)
    email_html, _, _, _ = mail(digest, renderer, order=(4, 3, 2, 1, 0), reasons={4: HOSTILE[0], 3: HOSTILE[2]})
    page = renderer.digest_page(digest, digest_topics(digest.papers))
    for document in (email_html, page):
        assert "<script>" not in document
        assert "</title><b>" not in document
        assert not re.search(r"<[^>]*\sonmouseover=", document)
        assert "{{ 7*7 }}" in document and ">49<" not in document
        assert "&amp;amp; &amp;lt;" in document
    from digest.site.feeds import build_feeds
    from digest.store.digests import FeedItem

    feeds = build_feeds([FeedItem(p, digest.slug, digest.published_at) for p in papers], SITE)
    for xml in (feeds.rss, feeds.atom):
        assert b"<script>" not in xml and b"</title><b>" not in xml


def test_every_email_fits_gmail_whatever_the_number_of_papers() -> None:
    title = "Ünïcødé & <Markup> " * 15  # 285 characters of the costliest kind
    links = tuple(Link(f"https://github.com/lab/{'x' * 40}{i}", "code") for i in range(5))
    papers = [stored(i + 1, f"{title}{i}", "Ω≈ç√ " * 400, links) for i in range(1000)]
    before = render.premailer_calls
    html_text, text, assembled, _ = mail(make_digest(papers))
    assert render.premailer_calls - before == 1
    assert len(html_text.encode("utf-8")) <= EMAIL_HTML_BUDGET
    assert assembled.left_out > 0 and assembled.shown + assembled.left_out == 1000
    assert f"and {assembled.left_out} more papers in the archive" in html_text
    assert f"…and {assembled.left_out} more papers in the archive" in text
    assert html_text.count('class="paper-title"') + html_text.count('class="line"') == assembled.shown


def test_at_120_papers_every_paper_fits_in_the_mail() -> None:
    papers = [
        stored(i + 1, f"A fairly long paper title about topic {i % 9} and more " * 2, "We propose x. " * 40)
        for i in range(120)
    ]
    html_text, _, assembled, _ = mail(make_digest(papers))
    assert assembled.shown == 120 and len(html_text.encode()) <= EMAIL_HTML_BUDGET


def test_a_very_large_for_you_setting_still_fits() -> None:
    papers = [stored(i + 1, f"A long title number {i} " * 12, "words and more words " * 100) for i in range(400)]
    renderer = Renderer(SITE, dataclasses.replace(EMAIL, for_you=400))
    html_text, _, _, _ = mail(make_digest(papers), renderer)
    assert len(html_text.encode("utf-8")) <= EMAIL_HTML_BUDGET
    assert 1 <= html_text.count('class="paper-title"') < 400


def test_the_text_part_is_wrapped_at_72_columns(example_digests: list[Digest]) -> None:
    _, text, _, _ = mail(example_digests[0])
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
    (tmp_path / "email.txt.j2").write_text(
        "Custom: {{ digest.new_count }} papers\n<!--digest:head-->\n"
        "{% for p in papers %}<!--digest:card-->\n{{ p.title }} {{ vote_url }}\n<!--digest:reason-->\n{{ reason }}\n"
        "<!--/digest:reason-->\n<!--/digest:card-->\n<!--digest:line-->\n- {{ p.title }}\n<!--/digest:line-->\n"
        "{% endfor %}{% for t in topics %}<!--digest:contents-->\n<!--/digest:contents-->\n"
        "<!--digest:topic-->\n<!--/digest:topic-->\n{% endfor %}<!--digest:tail-->\n{{ unsubscribe_url }}\n"
    )
    html_text, text, _, _ = mail(make_digest([stored(1, "T", "a b c d")]), Renderer(SITE, EMAIL, tmp_path))
    assert text == f"Custom: 1 papers\nT {VOTE}\n{UNSUBSCRIBE}\n"
    assert "Trending papers" in html_text  # the bundled HTML template still serves


def test_a_template_without_the_block_markers_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "email.txt.j2").write_text("Custom: {{ digest.new_count }} papers\n")
    with pytest.raises(ConfigError) as caught:
        mail(make_digest([stored(1, "T", "a b c d")]), Renderer(SITE, EMAIL, tmp_path))
    assert "lacks its <!--digest:head-->" in caught.value.one_line()
    assert "keep its <!--digest:...--> markers" in caught.value.one_line()


def test_a_missing_template_names_the_paths_searched(tmp_path: Path) -> None:
    renderer = Renderer(SITE, EMAIL, tmp_path)
    with pytest.raises(ConfigError, match="template not found") as caught:
        renderer.render("nope.html.j2")
    assert str(tmp_path) in caught.value.one_line() and "templates" in caught.value.one_line()


def test_an_undefined_name_in_a_template_is_an_error(tmp_path: Path) -> None:
    import jinja2

    (tmp_path / "email.txt.j2").write_text("{{ no_such_thing }}\n")
    with pytest.raises(jinja2.UndefinedError):
        mail(make_digest([stored(1, "T", "a b c d")]), Renderer(SITE, EMAIL, tmp_path))
