"""Returned mail: bounces and complaints read back from the bounce mailbox (22)."""

from __future__ import annotations

from digest.store.migrations.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        22,
        "returned mail: each bounce or complaint read once, by its Message-ID; a reader's returned failures",
        (
            """CREATE TABLE returned_mail (
                id {pk},
                message_key TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL CHECK (kind IN ('gone', 'permanent', 'temporary', 'complaint', 'auto-reply',
                    'unrelated', 'unreadable')),
                subscriber_id {bigint} REFERENCES subscribers (id),
                digest_id {bigint},
                week DATE,
                address TEXT,
                detail TEXT,
                effect TEXT NOT NULL,
                received_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX returned_mail_digest ON returned_mail (digest_id)",
            "CREATE INDEX returned_mail_week ON returned_mail (week)",
            "CREATE INDEX returned_mail_subscriber ON returned_mail (subscriber_id)",
            "ALTER TABLE subscribers ADD COLUMN returned_bounces INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE subscribers ADD COLUMN last_returned_at TIMESTAMPTZ",
            "ALTER TABLE subscribers ADD COLUMN left_reason TEXT",
        ),
    ),
)
