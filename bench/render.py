"""Rendering speed for a 1,000-paper digest: the email (HTML + text), the feeds, the archive.

Reports the time of each part and the number of premailer calls (one per digest).

    python bench/render.py
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest.config import EmailConfig, SiteConfig
from digest.mail.assemble import Reader, assemble
from digest.mail.blocks import render_email
from digest.models import Digest, Link, StoredPaper
from digest.ranking.topics import digest_topics
from digest.ranking.words import document_frequencies, topic_text
from digest.site import render
from digest.site.chart import IndexEntry
from digest.site.feeds import FEED_ITEMS, build_feeds
from digest.site.render import Renderer, archive_url
from digest.store.digests import FeedItem

NOW = dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)
WORDS = "model learning neural data training language attention graph diffusion image text reasoning".split()


def paper(n: int) -> StoredPaper:
    rng = random.Random(n)
    title = " ".join(rng.choice(WORDS).capitalize() for _ in range(10))
    abstract = " ".join(rng.choice(WORDS) for _ in range(180)) + f". Code: https://github.com/lab/p{n}."
    return StoredPaper(
        id=n,
        title=f"{title} {n}",
        abstract=abstract,
        links=(Link(f"https://github.com/lab/p{n}", "code"),),
        first_dump_id=1,
        first_rank=n,
        first_seen_on=dt.date(2026, 11, 21),
        first_seen_at=NOW,
    )


class KeptHtml(dict[str, str]):
    """An in-memory stand-in for the store's cache of inlined HTML."""

    def put(self, key: str, html: str) -> None:
        self[key] = html


def timed(label: str, work, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<34} {best * 1000:8.1f} ms (best of {repeat})")
    return result


def main() -> None:
    site = SiteConfig(dir=Path(tempfile.mkdtemp()), url="https://digest.example.org/", title="Trending papers")
    email = EmailConfig(sender="Digest <d@example.org>", subject="{count} new papers", for_you=10)
    papers = tuple(paper(n) for n in range(1, 1001))
    digest = Digest(
        slug="2026-11-21",
        date=dt.date(2026, 11, 21),
        papers=papers,
        seen_before=0,
        dump_dates=(dt.date(2026, 11, 21),),
        first_dump_id=1,
        last_dump_id=1,
        published_at=NOW,
    )
    renderer = Renderer(site, email, inline_cache=KeptHtml())  # as the store keeps inlined HTML
    print("rendering a 1,000-paper digest:")
    before = render.premailer_calls
    texts = [topic_text(p.title, p.abstract) for p in papers]
    history = timed("history's term frequencies (2,000)", lambda: document_frequencies(texts * 2), repeat=1)
    groups = timed("topics of the 1,000 papers", lambda: digest_topics(digest.papers, history), repeat=1)
    rendered = timed("email blocks (HTML inlined + text)", lambda: render_email(digest, renderer, groups), repeat=1)
    calls = render.premailer_calls - before
    timed("email blocks again (inlined HTML kept)", lambda: render_email(digest, renderer, groups))
    reader = Reader(tuple(range(len(papers))), {}, False, "https://d.example.org/vote/T", "https://d.example.org/u/T")
    mail = timed("one reader's mail, assembled", lambda: assemble(rendered, reader, for_you=10))
    timed(
        "feeds (RSS + Atom, 200 items)",
        lambda: build_feeds([FeedItem(p, digest.slug, digest.published_at) for p in papers[:FEED_ITEMS]], site),
    )
    page = timed("archive page (1,000 papers)", lambda: renderer.digest_page(digest, groups))
    entries = [
        IndexEntry(
            slug=f"d{i}", date=dt.date(2026, 1, 1) + dt.timedelta(days=i), count=50, url=archive_url(site, f"d{i}")
        )
        for i in range(365)
    ]
    timed("archive index (365 digests)", lambda: renderer.index_page(entries))
    print(f"  premailer calls for one digest:    {calls}")
    print(
        f"  email HTML: {len(mail.html) / 1000:.1f} KB, {mail.shown} papers in the mail;"
        f" archive page {len(page.encode()) / 1000:.0f} KB"
    )


if __name__ == "__main__":
    main()
