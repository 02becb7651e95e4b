"""The daily-papers JSON listing -> :class:`~digest.models.Dump`. Pure.

A list of items (or an object holding one under ``papers``, ``items`` or ``data``).
Each item has its fields at the top level, under ``paper``, or both (both are seen
in the wild; the paper's own fields win): ``id`` (the arXiv id), ``title``,
``summary``, ``authors`` (``[{"name": ...}]``), ``upvotes``, ``publishedAt``,
and sometimes ``githubRepo`` and ``ai_summary``. An item without a title or an
abstract is left out with a note saying which; the rest is kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from digest.errors import DumpError
from digest.listings.formats.bounds import check_count
from digest.listings.formats.links import find_links
from digest.listings.identity import arxiv_id, normalise_whitespace
from digest.models import Dump, Link, Paper, PaperDetails


def parse_daily_papers(text: str, *, sha256: str) -> Dump:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON ({exc.msg}, column {exc.colno}); the file may be cut short"
        raise DumpError(reason, line=exc.lineno) from None
    items = _items(data)
    check_count(len(items))
    papers: list[Paper] = []
    skipped: list[str] = []
    dates: Counter[dt.date] = Counter()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            skipped.append(f"item {number} is not an object")
            continue
        fields = {**item, **item["paper"]} if isinstance(item.get("paper"), dict) else item
        title = normalise_whitespace(_text(fields.get("title")))
        abstract = normalise_whitespace(_text(fields.get("summary") or fields.get("abstract")))
        if not title or not abstract:
            what = "title" if not title else "abstract"
            skipped.append(f"item {number} ({_text(fields.get('id')) or title[:60] or 'unnamed'}) has no {what}")
            continue
        day = _date(fields.get("publishedAt") or item.get("publishedAt"))
        if day is not None:
            dates[day] += 1
        papers.append(
            Paper(
                title=title,
                abstract=abstract,
                rank=len(papers) + 1,
                line=number,
                links=_links(fields, abstract),
                details=PaperDetails(
                    arxiv_id=arxiv_id(_text(fields.get("id"))),
                    authors=_authors(fields.get("authors")),
                    upvotes=fields["upvotes"] if isinstance(fields.get("upvotes"), int) else None,
                    summary=normalise_whitespace(_text(fields.get("ai_summary"))) or None,
                ),
            )
        )
    if not papers:
        raise DumpError("no papers in the JSON listing" + (f" ({skipped[0]})" if skipped else ""))
    listed_on = dates.most_common(1)[0][0] if dates else None
    return Dump(sha256=sha256, listed_on=listed_on, papers=tuple(papers), skipped=tuple(skipped))


def _items(data: Any) -> list[Any]:
    if isinstance(data, dict):
        for key in ("papers", "items", "data"):
            if isinstance(data.get(key), list):
                return list(data[key])
        raise DumpError("a JSON object without a list of papers (expected a list, or 'papers': [...])")
    if not isinstance(data, list):
        raise DumpError("the JSON holds no list of papers")
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (item.get("name") if isinstance(item, dict) else item for item in value)
    return tuple(normalise_whitespace(name) for name in names if isinstance(name, str) and name.strip())


def _links(fields: dict[str, Any], abstract: str) -> tuple[Link, ...]:
    repo = _text(fields.get("githubRepo"))
    found = find_links(abstract)
    if repo.startswith(("https://", "http://")) and all(link.url != repo for link in found):
        return (Link(repo, "code"), *found)
    return found


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None
