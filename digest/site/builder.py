"""The static web archive and the feeds: built in memory, then written.

``site.dir`` holds ``index.html``, ``archive/<slug>.html`` (one page per
digest, and ``archive/week-<date>.html`` per week of weekly mails; a digest of
more than 500 papers goes on over ``<slug>-p2.html`` and on), ``feed.xml``
(RSS 2.0) and ``atom.xml``. Every file is replaced atomically, and only when its
content changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from digest.config import SiteConfig
from digest.files import write_if_changed
from digest.ranking.grouping import combined, topics_of, week_topics
from digest.site.chart import IndexEntry
from digest.site.feeds import FEED_ITEMS, build_feeds
from digest.site.identity import IDENTITY_FILE
from digest.site.render import Renderer, archive_url
from digest.site.stamp import page_path
from digest.store import Store
from digest.store.digests import DigestRecord
from digest.store.weeks import Week
from digest.weekly import week_slug

#: The most recent digest pages are rendered again at every publish.
REFRESHED_PAGES = 7
#: The most recent week pages, likewise.
REFRESHED_WEEKS = 2


def build_site(store: Store, renderer: Renderer, site: SiteConfig, *, rebuild: bool = False) -> dict[str, bytes]:
    """Every file of the site that needs writing, by path relative to ``site.dir``.

    Digest pages are rendered when missing on disk, and the most recent ones
    always (a later listing may have lent their papers an arXiv id, authors or a
    code link; a page whose content is unchanged is not rewritten), or all of them
    with ``rebuild``; the index and the feeds always.
    """
    records = store.digests.published()  # newest first
    files: dict[str, bytes] = {}
    for position, record in enumerate(records):
        path = page_path(record.slug)
        if rebuild or position < REFRESHED_PAGES or not (site.dir / path).exists():
            files.update(_digest_pages(store, renderer, record.id))
    for position, week in enumerate(store.weeks.all()):  # newest first
        path = page_path(week_slug(week.week))
        if rebuild or position < REFRESHED_WEEKS or not (site.dir / path).exists():
            files.update(_week_pages(store, renderer, week))
    files["index.html"] = _index_page(store, renderer, site, records)
    feeds = build_feeds(store.digests.feed_items(FEED_ITEMS), site)
    files["feed.xml"] = feeds.rss
    files["atom.xml"] = feeds.atom
    files[IDENTITY_FILE] = (store.identity() + "\n").encode("ascii")
    return files


def build_week(store: Store, renderer: Renderer, site: SiteConfig, week: dt.date) -> dict[str, bytes]:
    """What queueing a week changes on a site written from the store as it was: the week's pages and the index
    that lists it (its digests' pages and the feeds are as they were)."""
    recorded = store.weeks.get(week)
    files = _week_pages(store, renderer, recorded) if recorded is not None else {}
    files["index.html"] = _index_page(store, renderer, site, store.digests.published())
    return files


def _index_page(store: Store, renderer: Renderer, site: SiteConfig, records: Sequence[DigestRecord]) -> bytes:
    entries = [
        IndexEntry(slug=r.slug, date=r.date, count=r.paper_count, url=archive_url(site, r.slug)) for r in records
    ]
    counts = {record.id: record.paper_count for record in records}
    weeks = [
        IndexEntry(
            slug=week_slug(week.week),
            date=week.week,
            count=sum(counts.get(digest_id, 0) for digest_id in week.digest_ids),
            url=archive_url(site, week_slug(week.week)),
        )
        for week in store.weeks.all()  # newest first
    ]
    return renderer.index_page(entries, weeks).encode("utf-8")


def _week_pages(store: Store, renderer: Renderer, week: Week) -> dict[str, bytes]:
    digest = combined(store, week.week, week.digest_ids, published_at=week.due_at)
    topics = week_topics(store, week.week, week.digest_ids, digest)
    return {page_path(name): page.encode("utf-8") for name, page in renderer.each_digest_page(digest, topics)}


def _digest_pages(store: Store, renderer: Renderer, digest_id: int) -> dict[str, bytes]:
    """A digest's archive pages, each encoded as soon as it is rendered (the digest is let go on return)."""
    digest = store.digests.get(digest_id)
    if digest is None:
        return {}
    return {
        page_path(slug): page.encode("utf-8")
        for slug, page in renderer.each_digest_page(digest, topics_of(store, digest))
    }


def write_site(root: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write the files under ``root``; return those whose content changed."""
    written = []
    for relative, content in sorted(files.items()):
        path = root / relative
        if write_if_changed(path, content):
            written.append(path)
    return written
