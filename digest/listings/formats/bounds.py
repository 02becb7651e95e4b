"""What one listing may hold: how many papers, and how long each text may be. Pure.

Every format's parser hands its papers through :func:`bounded`. Listing text is
hostile: its control characters were dropped by the parsers already (see
:func:`~digest.listings.identity.normalise_whitespace`); here its sizes are
bounded where it enters. A listing file of more than :data:`MAX_BYTES`, or a
listing of more than :data:`MAX_PAPERS` papers, is rejected as a whole (set aside
like any bad dump); a paper whose title or abstract is too long is left out with a
note; longer author lists, summaries and link lists are cut.
"""

from __future__ import annotations

import dataclasses

from digest.errors import DumpError
from digest.models import Dump, Link, Paper

#: Papers one listing may hold; a longer listing is rejected whole.
MAX_PAPERS = 20_000
#: Bytes one listing file may hold (about 3 KB for each of :data:`MAX_PAPERS` papers): a larger file is rejected
#: before it is read, as a listing of more papers than that would be after it was parsed at great cost.
MAX_BYTES = 64 * 2**20
#: Characters of a title (a longer "title" is a paragraph: see the text format).
MAX_TITLE = 300
#: Characters of an abstract.
MAX_ABSTRACT = 10_000
#: Authors kept per paper (the mail and the pages name three), and characters of a name.
MAX_AUTHORS = 100
MAX_AUTHOR = 200
#: Characters of a summary the source provides (a longer one is cut: its leading sentences are what is shown).
MAX_SUMMARY = 2_000
#: Links kept per paper, and characters of a link (a longer one is dropped).
MAX_LINKS = 20
MAX_LINK = 2_000


def check_count(count: int) -> None:
    """Reject a listing of more than :data:`MAX_PAPERS` papers (called as soon as a format knows the count)."""
    if count > MAX_PAPERS:
        raise DumpError(
            f"the listing holds {count:,} papers, more than the {MAX_PAPERS:,} one listing may hold;"
            " split it into several listings"
        )


def check_bytes(size: int) -> None:
    """Reject a listing file larger than :data:`MAX_BYTES` (before it is read)."""
    if size > MAX_BYTES:
        raise DumpError(
            f"the file holds {size / 2**20:,.0f} MB, more than the {MAX_BYTES // 2**20} MB one listing may hold;"
            " split it into several listings"
        )


def bounded(dump: Dump) -> Dump:
    """The dump with every paper's texts within bounds; a paper that cannot be is left out with a note."""
    check_count(len(dump.papers))
    papers: list[Paper] = []
    skipped = list(dump.skipped)
    for paper in dump.papers:
        problem = _problem(paper)
        if problem:
            skipped.append(f"the paper at line {paper.line} ({paper.title[:60]!r}): {problem}")
            continue
        papers.append(_within(paper, rank=len(papers) + 1))
    if not papers:
        raise DumpError("no paper of the listing can be read" + (f" ({skipped[0]})" if skipped else ""))
    if len(papers) == len(dump.papers) and all(a is b for a, b in zip(papers, dump.papers, strict=True)):
        return dump
    return dataclasses.replace(dump, papers=tuple(papers), skipped=tuple(skipped))


def _problem(paper: Paper) -> str | None:
    if len(paper.title) > MAX_TITLE:
        return f"its title has {len(paper.title):,} characters (at most {MAX_TITLE:,})"
    if len(paper.abstract) > MAX_ABSTRACT:
        return f"its abstract has {len(paper.abstract):,} characters (at most {MAX_ABSTRACT:,})"
    return None


def _within(paper: Paper, *, rank: int) -> Paper:
    details = paper.details
    authors = tuple(name[:MAX_AUTHOR] for name in details.authors[:MAX_AUTHORS])
    summary = details.summary[:MAX_SUMMARY] if details.summary is not None else None
    links = tuple(link for link in paper.links if _fit(link))[:MAX_LINKS]
    if (authors, summary, links, rank) == (details.authors, details.summary, paper.links, paper.rank):
        return paper
    return dataclasses.replace(
        paper,
        rank=rank,
        links=links,
        details=dataclasses.replace(details, authors=authors, summary=summary),
    )


def _fit(link: Link) -> bool:
    return len(link.url) <= MAX_LINK and link.url.isprintable()
