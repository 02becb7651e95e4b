"""Followed authors: the names a reader follows, as they wrote them, one per normalised name.

A name is kept as the reader wrote it (whitespace tidied: :func:`digest.names.checked_name`) with its
normalised key (:attr:`digest.names.Name.key`), so following "Ashish  Vaswani" twice keeps one. A reader
follows at most :data:`digest.names.MAX_FOLLOWS` authors. Matching them to a paper's authors is
:mod:`digest.ranking.follows`'s work; a change bumps the reader's profile version (their feed is rebuilt).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from digest.names import MAX_FOLLOWS, FollowError, names_match, parse_name
from digest.store.backend import Database


class Follows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def of(self, subscriber_id: int) -> list[str]:
        """The names a reader follows, in the order they followed them."""
        rows = self.db.execute(
            "SELECT name FROM follows WHERE subscriber_id = ? ORDER BY created_at, id", (subscriber_id,)
        )
        return [str(name) for (name,) in rows]

    def for_subscribers(self, subscriber_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """The names each of these readers follows (those who follow nobody are left out)."""
        ids = list(subscriber_ids)
        found: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.db.execute(
                f"SELECT subscriber_id, name FROM follows WHERE subscriber_id IN ({', '.join('?' * len(chunk))})"
                " ORDER BY subscriber_id, created_at, id",
                chunk,
            )
            for subscriber_id, name in rows:
                found.setdefault(int(subscriber_id), []).append(str(name))
        return {subscriber_id: tuple(names) for subscriber_id, names in found.items()}

    def add(self, subscriber_id: int, names: Sequence[str], *, now: dt.datetime) -> list[str]:
        """Follow ``names`` (checked: :func:`digest.names.checked_follows`); the ones not followed before.
        :class:`~digest.names.FollowError` when the reader would follow more than the limit."""
        had = {parse_name(name).key for name in self.of(subscriber_id)}
        fresh = [name for name in names if parse_name(name).key not in had]
        if len(had) + len(fresh) > MAX_FOLLOWS:
            raise FollowError(
                f"following {len(fresh)} more would make {len(had) + len(fresh)} authors, more than {MAX_FOLLOWS}",
                hint="unfollow some first",
            )
        self.db.execute_many(
            "INSERT INTO follows (subscriber_id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
            [(subscriber_id, name, parse_name(name).key, now) for name in fresh],
        )
        if fresh:
            self._touched(subscriber_id)
        return fresh

    def remove(self, subscriber_id: int, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """Unfollow ``names``: the one with the same normalised name, else every followed name that names the
        same author (:func:`digest.names.same_author`). Returns the names unfollowed, and those given that
        named nobody followed."""
        followed = self.db.execute("SELECT id, name, name_key FROM follows WHERE subscriber_id = ?", (subscriber_id,))
        removed: dict[int, str] = {}
        unknown = []
        for text in names:
            wanted = parse_name(text)
            hits = [(row_id, name) for row_id, name, key in followed if key == wanted.key]
            hits = hits or [(row_id, name) for row_id, name, _ in followed if names_match(parse_name(name), wanted)]
            if not hits:
                unknown.append(text)
            removed.update((int(row_id), str(name)) for row_id, name in hits)
        self.db.execute_many("DELETE FROM follows WHERE id = ?", [(row_id,) for row_id in removed])
        if removed:
            self._touched(subscriber_id)
        return list(removed.values()), unknown

    def replace(self, followed: Sequence[tuple[int, Sequence[str]]], *, now: dt.datetime) -> list[int]:
        """Each reader follows exactly these names (a CSV import's cell; checked already); the readers whose
        follows changed."""
        current = self.for_subscribers(subscriber_id for subscriber_id, _ in followed)
        changed = []
        for subscriber_id, names in followed:
            before = current.get(subscriber_id, ())
            if [parse_name(name).key for name in before] == [parse_name(name).key for name in names]:
                continue
            changed.append(subscriber_id)
            self.db.execute("DELETE FROM follows WHERE subscriber_id = ?", (subscriber_id,))
            self.db.execute_many(
                "INSERT INTO follows (subscriber_id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
                [(subscriber_id, name, parse_name(name).key, now) for name in names],
            )
        return changed

    def counts(self, subscriber_ids: Iterable[int]) -> dict[int, int]:
        """How many authors each reader follows (those who follow nobody are left out)."""
        return {subscriber_id: len(names) for subscriber_id, names in self.for_subscribers(subscriber_ids).items()}

    def _touched(self, subscriber_id: int) -> None:
        self.db.execute("UPDATE subscribers SET profile_version = profile_version + 1 WHERE id = ?", (subscriber_id,))
