"""The first schema: the history, digests, subscribers and the send ledger, scheduling (1-4)."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "history: dumps, papers, title keys, sightings, inbox files",
        (
            """CREATE TABLE dumps (
                id {pk},
                sha256 TEXT NOT NULL UNIQUE,
                file_name TEXT NOT NULL,
                listed_on DATE,
                dump_date DATE NOT NULL,
                arrived_at TIMESTAMPTZ NOT NULL,
                ingested_at TIMESTAMPTZ NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('ingested', 'rejected')),
                reason TEXT,
                paper_count INTEGER NOT NULL DEFAULT 0,
                new_count INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE papers (
                id {pk},
                title TEXT NOT NULL,
                abstract TEXT NOT NULL,
                abstract_hash TEXT,
                links TEXT NOT NULL,
                first_dump_id {bigint} NOT NULL REFERENCES dumps (id),
                first_rank INTEGER NOT NULL,
                first_seen_on DATE NOT NULL,
                first_seen_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX papers_abstract_hash ON papers (abstract_hash)",
            "CREATE UNIQUE INDEX papers_first_dump ON papers (first_dump_id, first_rank)",
            "CREATE INDEX papers_first_seen ON papers (first_seen_on)",
            """CREATE TABLE title_keys (
                key TEXT PRIMARY KEY,
                paper_id {bigint} NOT NULL REFERENCES papers (id)
            )""",
            """CREATE TABLE sightings (
                dump_id {bigint} NOT NULL REFERENCES dumps (id),
                paper_id {bigint} NOT NULL REFERENCES papers (id),
                rank INTEGER NOT NULL,
                title TEXT NOT NULL,
                PRIMARY KEY (dump_id, paper_id)
            )""",
            "CREATE INDEX sightings_paper ON sightings (paper_id)",
            """CREATE TABLE inbox_files (
                name TEXT PRIMARY KEY,
                size {bigint} NOT NULL,
                mtime_ns {bigint} NOT NULL,
                sha256 TEXT,
                status TEXT NOT NULL,
                processed_at TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "digests: published digests and their papers",
        (
            """CREATE TABLE digests (
                id {pk},
                slug TEXT NOT NULL UNIQUE,
                digest_date DATE NOT NULL,
                first_dump_id {bigint} NOT NULL REFERENCES dumps (id),
                last_dump_id {bigint} NOT NULL REFERENCES dumps (id),
                paper_count INTEGER NOT NULL,
                seen_before INTEGER NOT NULL,
                dump_dates TEXT NOT NULL,
                published_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE digest_papers (
                digest_id {bigint} NOT NULL REFERENCES digests (id),
                position INTEGER NOT NULL,
                paper_id {bigint} NOT NULL UNIQUE REFERENCES papers (id),
                PRIMARY KEY (digest_id, position)
            )""",
        ),
    ),
    Migration(
        3,
        "delivery: subscribers and the send ledger",
        (
            """CREATE TABLE subscribers (
                id {pk},
                email TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
                include_terms TEXT NOT NULL DEFAULT '',
                exclude_terms TEXT NOT NULL DEFAULT '',
                bounces INTEGER NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL,
                confirmed_at TIMESTAMPTZ,
                unsubscribed_at TIMESTAMPTZ
            )""",
            "CREATE INDEX subscribers_status ON subscribers (status, id)",
            """CREATE TABLE deliveries (
                digest_id {bigint} NOT NULL REFERENCES digests (id),
                subscriber_id {bigint} NOT NULL REFERENCES subscribers (id),
                status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                claimed_by TEXT,
                claimed_at TIMESTAMPTZ,
                next_attempt_at TIMESTAMPTZ,
                sent_at TIMESTAMPTZ,
                PRIMARY KEY (digest_id, subscriber_id)
            )""",
            "CREATE INDEX deliveries_status ON deliveries (digest_id, status, subscriber_id)",
        ),
    ),
    Migration(
        4,
        "scheduling: when a digest was queued for sending, and the scheduler's state",
        (
            "ALTER TABLE digests ADD COLUMN queued_at TIMESTAMPTZ",
            """CREATE TABLE scheduler_state (
                key TEXT PRIMARY KEY,
                value TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
)
