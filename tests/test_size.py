"""Large digests: a mail draws on the first 2,000 papers, an archive page holds 500, every link finds its page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from digest.config import EmailConfig, SiteConfig
from digest.mail.assemble import Reader, assemble
from digest.mail.blocks import MAIL_PAPERS, render_email
from digest.models import Digest, PaperDetails, StoredPaper, Topic
from digest.site.feeds import build_feeds
from digest.site.render import PAGE_PAPERS, Renderer
from digest.store.digests import FeedItem

from conftest import NOW

SITE = SiteConfig(dir=Path("/nonexistent"), url="https://digest.example.org/", title="Trending papers")
EMAIL = EmailConfig(sender="Digest <d@example.org>", subject="{count} new papers", for_you=10)


def digest_of(count: int) -> Digest:
    papers = tuple(
        StoredPaper(
            id=n,
            title=f"Paper {n} on graphs",
            abstract=f"We propose method {n} for graphs. It works.",
            links=(),
            first_dump_id=1,
            first_rank=n,
            first_seen_on=dt.date(2026, 3, 12),
            first_seen_at=NOW,
            details=PaperDetails(),
        )
        for n in range(1, count + 1)
    )
    return Digest("2026-03-12", dt.date(2026, 3, 12), papers, 0, (dt.date(2026, 3, 12),), 1, 1, NOW)


def test_a_mail_draws_on_the_first_papers_and_counts_the_rest_as_left_out() -> None:
    digest = digest_of(MAIL_PAPERS + 500)
    halves = [
        Topic("even", tuple(range(0, len(digest.papers), 2))),
        Topic("odd", tuple(range(1, len(digest.papers), 2))),
    ]
    email = render_email(digest, Renderer(SITE, EMAIL), halves)
    assert len(email.html.cards) == len(email.text.lines) == MAIL_PAPERS and email.total == MAIL_PAPERS + 500
    assert "2500 new papers" in email.subject
    reader = Reader(tuple(range(MAIL_PAPERS)), {}, False, "https://d.example.org/vote/T", "https://d.example.org/u/T")
    mail = assemble(email, reader, for_you=10, beyond=500)
    assert mail.shown + mail.left_out == MAIL_PAPERS + 500 and len(mail.html) <= 100_000
    assert f"{mail.left_out} more papers" in mail.text.decode()


def test_archive_pages_hold_500_papers_and_every_link_finds_its_page() -> None:
    digest = digest_of(2 * PAGE_PAPERS + 200)
    topics = [Topic("all", tuple(range(len(digest.papers))))]
    pages = Renderer(SITE, EMAIL).digest_pages(digest, topics)
    assert list(pages) == ["2026-03-12", "2026-03-12-p2", "2026-03-12-p3"]
    for number, (slug, page) in enumerate(pages.items()):
        anchors = re.findall(r'<article id="paper-(\d+)"', page)
        first = number * PAGE_PAPERS + 1
        assert [int(a) for a in anchors] == list(range(first, min(first + PAGE_PAPERS, len(digest.papers) + 1)))
        assert f"Page {number + 1} of 3:" in page and f"<strong>{number + 1}</strong>" in page
        assert all(f'href="{other}.html"' in page for other in pages if other != slug)  # relative: works from disk
        assert f'<link rel="canonical" href="https://digest.example.org/archive/{slug}.html">' in page
    feeds = build_feeds(
        [FeedItem(paper, digest.slug, NOW, index=index) for index, paper in enumerate(digest.papers)][-3:], SITE
    )
    assert b"https://digest.example.org/archive/2026-03-12-p3.html#paper-1200" in feeds.rss
    mail = render_email(digest, Renderer(SITE, EMAIL), topics)
    assert b"archive/2026-03-12-p2.html#paper-501" in mail.html.lines[500]


def test_readers_without_a_profile_share_one_layout_but_each_gets_their_own_links() -> None:
    """A clipped mail (past the size budget) laid out once, filled with each reader's links, is their own."""
    from digest.mail.assemble import linkless

    digest = digest_of(600)
    halves = [Topic("even", tuple(range(0, 600, 2))), Topic("odd", tuple(range(1, 600, 2)))]
    email = render_email(digest, Renderer(SITE, EMAIL), halves)
    order = tuple(range(600))

    def reader(n: int) -> Reader:
        return Reader(
            order, {}, False, f"https://d.example.org/v/{n}", f"https://d.example.org/u/{n}&x", f"https://p/{n}"
        )

    shared = linkless(email, reader(10), for_you=10)
    for n in (10, 99, 123456):
        own = assemble(email, reader(n), for_you=10)
        assert own.left_out > 0 and f"https://d.example.org/u/{n}&amp;x".encode() in own.html
        assert linkless(email, reader(n), for_you=10).filled(reader(n)) == own
        if len(str(n)) == 2:  # (links of the same lengths: the same layout)
            assert shared.filled(reader(n)) == own
