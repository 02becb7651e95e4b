"""Build a digest from what the store supplies. Pure: ``now`` is passed in.

A digest holds every paper first seen in the dumps ingested since the previous
digest: the newest dump's papers first, each dump's in its listing's rank
order. Its date is the newest dump's date; its slug names its archive page
("2026-03-14", or "2026-03-14-2" when that name is taken). A preview of one
listing on its own (:func:`standalone_digest`) treats every paper as new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from digest.models import Digest, Dump, DumpRecord, StoredPaper


def build_digest(
    *,
    dumps: Sequence[DumpRecord],
    papers: Sequence[StoredPaper],
    now: dt.datetime,
    taken_slugs: Collection[str] = (),
    listed_earlier: int = 0,
) -> Digest | None:
    """The digest of ``papers`` (first seen in ``dumps``); None when there is nothing new.

    ``listed_earlier`` counts the papers these dumps list again that an earlier digest held.
    """
    if not dumps or not papers:
        return None
    date = max(dump.dump_date for dump in dumps)
    return Digest(
        slug=free_slug(date.isoformat(), taken_slugs),
        date=date,
        papers=tuple(papers),
        seen_before=listed_earlier,
        dump_dates=tuple(sorted({dump.dump_date for dump in dumps})),
        first_dump_id=min(dump.id for dump in dumps),
        last_dump_id=max(dump.id for dump in dumps),
        published_at=now,
    )


def free_slug(base: str, taken: Collection[str]) -> str:
    slug, counter = base, 2
    while slug in taken:
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def excerpt(text: str, limit: int = 300) -> str:
    """``text`` cut to about ``limit`` characters at a sentence or word boundary, with an ellipsis.

    A sentence end in the last third of the allowance is preferred; otherwise
    the cut falls between words. Text that fits is returned whole.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    sentence_end = max(window.rfind(". ", 0, limit), window.rfind("? ", 0, limit), window.rfind("! ", 0, limit))
    if sentence_end >= limit * 2 // 3:
        return text[: sentence_end + 1] + " …"
    space = window.rfind(" ", 0, limit)
    cut = text[:space] if space > 0 else text[:limit]
    return cut.rstrip(" ,;:.-(\u2013\u2014") + "…"


def standalone_digest(dump: Dump, *, today: dt.date, now: dt.datetime) -> Digest:
    """A digest of one listing on its own, every paper treated as new (for previews)."""
    day = dump.listed_on or today
    papers = tuple(
        StoredPaper(
            id=paper.rank,
            title=paper.title,
            abstract=paper.abstract,
            links=paper.links,
            first_dump_id=0,
            first_rank=paper.rank,
            first_seen_on=day,
            first_seen_at=now,
            details=paper.details,
        )
        for paper in dump.papers
    )
    return Digest(
        slug=day.isoformat(),
        date=day,
        papers=papers,
        seen_before=0,
        dump_dates=(day,),
        first_dump_id=0,
        last_dump_id=0,
        published_at=now,
    )
