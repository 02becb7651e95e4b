"""Migration 18: every reader's feed key made with the reader, and a profile version the feed's ETag follows."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        18,
        "profiles: a feed key for every reader (made with the reader, never by a page view), and a profile version",
        (
            "UPDATE subscribers SET feed_key = {random_key} WHERE feed_key IS NULL",
            "ALTER TABLE subscribers ADD COLUMN profile_version INTEGER NOT NULL DEFAULT 0",
        ),
    ),
)
