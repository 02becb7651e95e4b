"""Which papers of a dump are new. Pure: the store answers the look-ups first.

A listed paper is *known* when its arXiv id is known, or its title key, or,
failing those, its abstract fingerprint (its title was revised: the history
records the new title, and the paper is not new). A paper listed twice in one
dump counts once, at its first rank. A known paper listed with details the
history lacks (an id, authors) lends them to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from digest.listings.identity import abstract_fingerprint, title_key
from digest.models import DiffEntry, DumpDiff, Paper


@dataclass(frozen=True, slots=True)
class Identified:
    """A paper with its identity computed once."""

    paper: Paper
    key: str
    fingerprint: str | None

    @property
    def arxiv_id(self) -> str | None:
        return self.paper.details.arxiv_id


def identify(papers: Iterable[Paper]) -> list[Identified]:
    return [Identified(p, title_key(p.title), abstract_fingerprint(p.abstract)) for p in papers]


def diff_dump(
    papers: Iterable[Identified],
    *,
    known_keys: Mapping[str, int],
    known_fingerprints: Mapping[str, int],
    known_ids: Mapping[str, int] | None = None,
) -> DumpDiff:
    """Classify each distinct paper as new, known, or known under a revised title."""
    entries: list[DiffEntry] = []
    keys_here: set[str] = set()
    fingerprints_here: set[str] = set()
    ids_here: set[str] = set()
    for item in papers:
        listed_id = item.arxiv_id
        if (
            item.key in keys_here
            or (item.fingerprint and item.fingerprint in fingerprints_here)
            or (listed_id and listed_id in ids_here)
        ):
            continue
        keys_here.add(item.key)
        if item.fingerprint:
            fingerprints_here.add(item.fingerprint)
        if listed_id:
            ids_here.add(listed_id)
        known_id = (known_ids or {}).get(listed_id) if listed_id else None
        revised = known_id is not None and item.key not in known_keys  # known by its id, under a new title
        if known_id is None:
            known_id = known_keys.get(item.key)
        if known_id is None and item.fingerprint is not None:
            known_id = known_fingerprints.get(item.fingerprint)
            revised = known_id is not None
        entries.append(DiffEntry(item.paper, item.key, item.fingerprint, known_id, revised))
    return DumpDiff(tuple(entries))
