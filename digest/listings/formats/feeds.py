"""RSS and Atom listings (arXiv's RSS, arXiv's API Atom, any feed with titles and summaries) -> Dump. Pure.

Read with feedparser. arXiv's RSS descriptions start "arXiv:2403.01234v1 Announce
Type: new Abstract: ..."; that preamble is dropped. The arXiv id comes from the
entry's link or id (``https://arxiv.org/abs/ID``, ``oai:arXiv.org:ID``). Authors
come from ``dc:creator`` ("A, B, C") or the entry's authors. A feed that
feedparser cannot read and that has no entries is rejected; an entry without a
title or a summary is left out with a note.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from digest.errors import DumpError
from digest.listings.formats.bounds import check_count
from digest.listings.formats.links import find_links
from digest.listings.identity import arxiv_id, normalise_whitespace
from digest.models import Dump, Paper, PaperDetails

_ARXIV_PREAMBLE = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s+Abstract:\s*", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def parse_feed(data: bytes, *, sha256: str) -> Dump:
    import feedparser

    feed = feedparser.parse(data)
    if not feed.entries:
        problem = feed.get("bozo_exception")
        reason = f"not a readable feed ({problem})" if feed.get("bozo") else "a feed with no entries"
        raise DumpError(reason)
    check_count(len(feed.entries))
    papers: list[Paper] = []
    skipped: list[str] = []
    dates: list[dt.date] = []
    for number, entry in enumerate(feed.entries, start=1):
        title = normalise_whitespace(_plain(entry.get("title", "")))
        abstract = _ARXIV_PREAMBLE.sub("", normalise_whitespace(_plain(entry.get("summary", ""))))
        if not title or not abstract:
            what = "title" if not title else "summary"
            skipped.append(f"entry {number} ({entry.get('id') or title[:60] or 'unnamed'}) has no {what}")
            continue
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        if published:
            dates.append(dt.date(*published[:3]))
        papers.append(
            Paper(
                title=title,
                abstract=abstract,
                rank=len(papers) + 1,
                line=number,
                links=find_links(abstract),
                details=PaperDetails(
                    arxiv_id=arxiv_id(entry.get("link")) or arxiv_id(entry.get("id")),
                    authors=_authors(entry),
                ),
            )
        )
    if not papers:
        broken = f"not a readable feed ({feed.get('bozo_exception')}); " if feed.get("bozo") else ""
        raise DumpError(f"{broken}no papers in the feed" + (f" ({skipped[0]})" if skipped else ""))
    channel = feed.feed.get("published_parsed") or feed.feed.get("updated_parsed")
    listed_on = dt.date(*channel[:3]) if channel else (max(dates) if dates else None)
    return Dump(sha256=sha256, listed_on=listed_on, papers=tuple(papers), skipped=tuple(skipped))


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub(" ", text))


def _authors(entry: Any) -> tuple[str, ...]:
    names = [author.get("name", "") for author in entry.get("authors", []) if isinstance(author, dict)]
    if len(names) == 1 and "," in names[0]:  # dc:creator "A, B, C" arrives as one name
        names = names[0].split(",")
    return tuple(normalise_whitespace(name) for name in names if name.strip())
