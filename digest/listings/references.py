"""Reading a reader's votes from text: one paper a line, a title, an arXiv id or an arXiv URL. Pure.

Each line is checked on its own: a bad line is reported with its number and
the rest still count. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from digest.listings.identity import arxiv_id, title_key
from digest.models import PaperRef, VotedPaper

MAX_LINE = 500
MIN_TITLE_LETTERS = 4


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def paper_ref(text: str) -> PaperRef:
    """One paper named by a title, an arXiv id or URL; ValueError says what is wrong with it."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("empty")
    if len(text) > MAX_LINE:
        raise ValueError(f"too long for a title ({len(text)} characters; at most {MAX_LINE})")
    if any(ord(char) < 32 for char in text):
        raise ValueError("contains control characters")
    found = arxiv_id(text)
    if _URL.match(text) and found is None:
        raise ValueError("a link that is not an arXiv paper (use its title, its arXiv id or its arxiv.org/abs URL)")
    if found is not None and (_URL.match(text) or text.casefold().startswith("arxiv:") or text == found):
        return PaperRef(text, found, "")
    key = title_key(text)
    if sum(char.isalpha() for char in key) < MIN_TITLE_LETTERS:
        raise ValueError("not a title, an arXiv id or an arXiv URL")
    return PaperRef(text, None, key)


def read_refs(lines: Iterable[str], *, first_line: int = 1) -> tuple[list[tuple[int, PaperRef]], list[BadLine]]:
    """The papers named in ``lines``, each with its line number, and the lines that name none."""
    refs: list[tuple[int, PaperRef]] = []
    bad: list[BadLine] = []
    for number, line in enumerate(lines, start=first_line):
        stripped = line.strip().lstrip("\ufeff")
        if not stripped or stripped.startswith("#"):
            continue
        try:
            refs.append((number, paper_ref(stripped)))
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
    return refs, bad


def vote_key(paper: VotedPaper, ref: PaperRef | None = None) -> str:
    """A vote's key: the paper's arXiv id when known, else its history id, else what the reader named."""
    if paper.arxiv_id:
        return f"arxiv:{paper.arxiv_id}"
    if paper.paper_id is not None:
        return f"paper:{paper.paper_id}"
    if ref is not None:
        return ref.key
    return f"title:{title_key(paper.title)}"


def export_ref(paper: VotedPaper) -> str:
    """How a vote is written in a CSV cell (read back by :func:`paper_ref`): its arXiv id, else its title."""
    return f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else " ".join(paper.title.split())
