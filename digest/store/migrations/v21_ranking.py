"""Ranking features kept per digest (21)."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        21,
        "ranking: each digest's features and the similarity rows readers' votes and interests need, kept",
        (
            """CREATE TABLE ranking_rows (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                name TEXT NOT NULL,
                data {blob} NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (scope, key)
            )""",
            "CREATE INDEX ranking_rows_created ON ranking_rows (created_at)",
        ),
    ),
)
