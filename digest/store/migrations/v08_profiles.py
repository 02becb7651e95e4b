"""Later migrations: delivery, identity, rendering, papers' details, sources, profiles, topics, weeks (8-17)."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        8,
        "delivery: a sent message the server never answered for is marked uncertain",
        ("ALTER TABLE deliveries ADD COLUMN uncertain TEXT",),
    ),
    Migration(
        9,
        "identity: a random name for this history, also written into the site folder it publishes",
        (
            """CREATE TABLE store_identity (
                id TEXT PRIMARY KEY,
                created_at TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
    Migration(
        10,
        "rendering: inlined email HTML kept by the hash of its document",
        (
            """CREATE TABLE rendered_html (
                hash TEXT PRIMARY KEY,
                html TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX rendered_html_created ON rendered_html (created_at)",
        ),
    ),
    Migration(
        11,
        "delivery: find a subscriber's deliveries (who has never had a digest) without a scan",
        ("CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id)",),
    ),
    Migration(
        12,
        "papers: arXiv id, authors, upvotes and a provided summary, from listings that give them",
        (
            "ALTER TABLE papers ADD COLUMN arxiv_id TEXT",
            "ALTER TABLE papers ADD COLUMN authors TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE papers ADD COLUMN upvotes INTEGER",
            "ALTER TABLE papers ADD COLUMN summary TEXT",
            "CREATE UNIQUE INDEX papers_arxiv_id ON papers (arxiv_id) WHERE arxiv_id IS NOT NULL",
        ),
    ),
    Migration(
        13,
        "sources: what each fetched URL answered last (validators for conditional GET, successes, errors)",
        (
            """CREATE TABLE sources (
                name TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                etag TEXT,
                last_modified TEXT,
                body_sha256 TEXT,
                last_success_at TIMESTAMPTZ,
                last_error TEXT,
                last_error_at TIMESTAMPTZ
            )""",
        ),
    ),
    Migration(
        14,
        "profiles: soft interest terms, frequency, and the papers each subscriber liked or disliked",
        (
            "ALTER TABLE subscribers ADD COLUMN interests TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE subscribers ADD COLUMN frequency TEXT NOT NULL DEFAULT 'daily'",
            """CREATE TABLE votes (
                id {pk},
                subscriber_id {bigint} NOT NULL REFERENCES subscribers (id),
                paper_key TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('like', 'dislike')),
                paper_id {bigint} REFERENCES papers (id),
                arxiv_id TEXT,
                title TEXT NOT NULL,
                abstract TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMPTZ NOT NULL,
                UNIQUE (subscriber_id, paper_key)
            )""",
        ),
    ),
    Migration(
        15,
        "profiles: the key of each reader's personal feed URL (a new key revokes the old URL)",
        ("ALTER TABLE subscribers ADD COLUMN feed_key TEXT",),
    ),
    Migration(
        16,
        "digests: their topics, computed once when published and kept for every mail and page",
        ("ALTER TABLE digests ADD COLUMN topics TEXT",),
    ),
    Migration(
        17,
        "weekly digests: a week's digests and mails; a daily delivery held for a weekly reader's mail",
        (
            """CREATE TABLE weeks (
                week DATE PRIMARY KEY,
                due_at TIMESTAMPTZ NOT NULL,
                first_digest_id {bigint} NOT NULL,
                last_digest_id {bigint} NOT NULL,
                topics TEXT,
                queued_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE weekly_mails (
                id {pk},
                week DATE NOT NULL REFERENCES weeks (week),
                subscriber_id {bigint} NOT NULL REFERENCES subscribers (id),
                digests TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                uncertain TEXT,
                claimed_by TEXT,
                claimed_at TIMESTAMPTZ,
                next_attempt_at TIMESTAMPTZ,
                sent_at TIMESTAMPTZ,
                UNIQUE (subscriber_id, week)
            )""",
            "CREATE INDEX weekly_mails_status ON weekly_mails (week, status, subscriber_id)",
            # A held delivery waits for the subscriber's weekly mail (CHECK constraints change by a rebuild).
            """CREATE TABLE deliveries_new (
                digest_id {bigint} NOT NULL REFERENCES digests (id),
                subscriber_id {bigint} NOT NULL REFERENCES subscribers (id),
                status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'held')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                claimed_by TEXT,
                claimed_at TIMESTAMPTZ,
                next_attempt_at TIMESTAMPTZ,
                sent_at TIMESTAMPTZ,
                uncertain TEXT,
                PRIMARY KEY (digest_id, subscriber_id)
            )""",
            "INSERT INTO deliveries_new (digest_id, subscriber_id, status, attempts, last_error, claimed_by,"
            " claimed_at, next_attempt_at, sent_at, uncertain) SELECT digest_id, subscriber_id, status, attempts,"
            " last_error, claimed_by, claimed_at, next_attempt_at, sent_at, uncertain FROM deliveries",
            "DROP TABLE deliveries",
            "ALTER TABLE deliveries_new RENAME TO deliveries",
            "CREATE INDEX deliveries_status ON deliveries (digest_id, status, subscriber_id)",
            "CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id)",
        ),
    ),
)
