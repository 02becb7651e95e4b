"""The RSS 2.0 and Atom feeds, built with feedgen. Pure: items in, bytes out.

One item per paper, newest first. Each has a stable guid (a tag URI with the
paper's id; not a permalink), the date of the listing it first appeared in
(at the time of day its digest was published) as its date, its arXiv page as
link when its id is known (else its archive entry), its authors when known
(``dc:creator`` in RSS, ``author`` in Atom), and the escaped abstract with its links as HTML (``type="html"`` in
Atom, whose feed also names an author, as RFC 4287 requires). The channel's
lastBuildDate is the newest item's time, so rebuilding with nothing new gives
byte-identical feeds.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from digest.config import SiteConfig
from digest.site.render import paper_url
from digest.site.tex import title_text
from digest.store.digests import FeedItem

#: How many papers the feeds carry.
FEED_ITEMS = 200
#: The channel date of a feed with no items yet (so that it too is reproducible).
EMPTY_FEED_DATE = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Feeds:
    rss: bytes
    atom: bytes


def paper_guid(site: SiteConfig, paper_id: int, first_seen: dt.datetime) -> str:
    """A stable, globally unique id: ``tag:HOST,YEAR:paper/ID`` (RFC 4151)."""
    host = urlsplit(site.url).hostname or "localhost"
    return f"tag:{host},{first_seen.year}:paper/{paper_id}"


def description(item: FeedItem) -> str:
    parts = [f"<p>{html.escape(item.paper.abstract)}</p>"]
    links = [
        f'{"Code" if link.kind == "code" else "Project page"}: <a href="{html.escape(link.url)}">'
        f"{html.escape(link.url)}</a>"
        for link in item.paper.links
    ]
    if links:
        parts.append("<p>" + "<br/>".join(links) + "</p>")
    return "".join(parts)


def listed_at(item: FeedItem) -> dt.datetime:
    """The date of the listing the paper first appeared in, at the time of day its digest was published."""
    published = item.published_at.astimezone(dt.UTC)
    return dt.datetime.combine(item.paper.first_seen_on, published.time(), tzinfo=dt.UTC)


def build_feeds(items: Sequence[FeedItem], site: SiteConfig) -> Feeds:
    rss = _generator(items, site, self_url=f"{site.url}feed.xml", self_type="application/rss+xml", atom=False)
    atom = _generator(items, site, self_url=f"{site.url}atom.xml", self_type="application/atom+xml", atom=True)
    return Feeds(rss=rss.rss_str(pretty=True), atom=atom.atom_str(pretty=True))


def _generator(items: Sequence[FeedItem], site: SiteConfig, *, self_url: str, self_type: str, atom: bool) -> Any:
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    if not atom:
        feed.load_extension("dc")  # dc:creator carries an item's authors in RSS
    feed.id(site.url)
    feed.title(site.title)
    feed.description(f"New trending research papers from {site.title}, as they are first listed.")
    # feedgen takes the last link added as the RSS channel's <link>: the site itself.
    feed.link(href=self_url, rel="self", type=self_type)
    feed.link(href=site.url, rel="alternate")
    feed.language("en")
    feed.generator("digest")
    if atom:  # every Atom entry needs an author (RFC 4287 4.1.1): the feed's stands in for unknown ones
        feed.author({"name": site.title})
    feed.updated(max((listed_at(item) for item in items), default=EMPTY_FEED_DATE))
    # feedgen lists entries in reverse order of adding: add the oldest first.
    for item in reversed(items):
        paper = item.paper
        entry = feed.add_entry()
        entry.guid(paper_guid(site, paper.id, paper.first_seen_at), permalink=False)
        entry.title(title_text(paper.title))
        entry.link(href=paper.details.abs_url or paper_url(site, item.digest_slug, item.index, paper.id))
        if paper.details.authors:
            if atom:
                entry.author([{"name": name} for name in paper.details.authors])
            else:
                entry.dc.dc_creator(", ".join(paper.details.authors))
        if atom:
            entry.content(description(item), type="html")
        else:
            entry.description(description(item))
        entry.published(listed_at(item))
        entry.updated(listed_at(item))
    return feed


def build_personal_feed(
    items: Sequence[tuple[FeedItem, str, str]], site: SiteConfig, *, self_url: str, updated: dt.datetime
) -> bytes:
    """A reader's Atom feed: their For-you papers of each digest, ``(item, TL;DR, reason)`` newest first.

    The feed names no reader: its id is its URL (a revoked URL is a different feed).
    """
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(f"{site.title}: for you")
    feed.subtitle("The papers of each digest ranked first for you, with why.")
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=site.url, rel="alternate")
    feed.language("en")
    feed.generator("digest")
    feed.author({"name": site.title})
    feed.updated(updated)
    for item, tldr, reason in reversed(items):  # feedgen lists entries in reverse order of adding
        paper = item.paper
        entry = feed.add_entry()
        entry.id(f"{paper_guid(site, paper.id, paper.first_seen_at)}/{item.digest_slug}")
        entry.title(title_text(paper.title))
        page = item.page_slug or item.digest_slug
        entry.link(href=paper.details.abs_url or paper_url(site, page, item.index, paper.id))
        if paper.details.authors:
            entry.author([{"name": name} for name in paper.details.authors])
        why = f"<p><em>Why: {html.escape(reason)}</em></p>" if reason else ""
        entry.content(f"<p>{html.escape(tldr)}</p>{why}" + description(item), type="html")
        entry.published(listed_at(item))
        entry.updated(listed_at(item))
    return bytes(feed.atom_str(pretty=True))
