"""What each source URL answered last: the validators for a conditional GET, and how it went."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from digest.store.backend import Database


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


_COLUMNS = "name, url, etag, last_modified, body_sha256, last_success_at, last_error, last_error_at"


class Sources:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str, url: str) -> SourceState:
        """The source's state; a fresh one when it is new or its URL changed (old validators would mislead)."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM sources WHERE name = ?", (name,))
        if not rows or rows[0][1] != url:
            return SourceState(name, url)
        return SourceState(*rows[0])

    def all(self) -> list[SourceState]:
        return [SourceState(*row) for row in self.db.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY name")]

    def succeeded(
        self,
        state: SourceState,
        *,
        etag: str | None,
        last_modified: str | None,
        body_sha256: str | None,
        now: dt.datetime,
    ) -> None:
        self.db.execute(
            "INSERT INTO sources (name, url, etag, last_modified, body_sha256, last_success_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
            " last_modified = excluded.last_modified, body_sha256 = excluded.body_sha256,"
            " last_success_at = excluded.last_success_at",
            (state.name, state.url, etag, last_modified, body_sha256, now),
        )

    def failed(self, state: SourceState, *, error: str, now: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO sources (name, url, last_error, last_error_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET url = excluded.url, last_error = excluded.last_error,"
            " last_error_at = excluded.last_error_at",
            (state.name, state.url, error[:500], now),
        )
