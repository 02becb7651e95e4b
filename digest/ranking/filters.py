"""A reader's hard filters: which papers they receive at all (include and exclude terms). Pure.

Whole words, case-insensitive, over a paper's title and abstract; exclude wins over include.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from digest.models import StoredPaper


@lru_cache(maxsize=1024)
def _term_pattern(term: str) -> re.Pattern[str]:
    # Whole words: the term may not continue a word on either side.
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def matches(paper: StoredPaper, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a paper passes a subscriber's filter (title and abstract, case-insensitive, whole words)."""
    text = f"{paper.title}\n{paper.abstract}"
    if any(_term_pattern(term).search(text) for term in exclude):
        return False
    return not include or any(_term_pattern(term).search(text) for term in include)


def filter_papers(
    papers: Sequence[StoredPaper], include: Sequence[str], exclude: Sequence[str]
) -> tuple[StoredPaper, ...]:
    if not include and not exclude:
        return tuple(papers)
    return tuple(paper for paper in papers if matches(paper, include, exclude))
