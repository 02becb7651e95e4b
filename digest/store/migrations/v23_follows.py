"""Followed authors: the names a reader follows, kept as they wrote them, one each by its normalised key (23)."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        23,
        "follows: the authors a reader follows, as written, unique by their normalised name",
        (
            """CREATE TABLE follows (
                id {pk},
                subscriber_id {bigint} NOT NULL REFERENCES subscribers (id),
                name TEXT NOT NULL,
                name_key TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                UNIQUE (subscriber_id, name_key)
            )""",
        ),
    ),
)
