"""Inlined email HTML, kept by the hash of the document it was made from.

Inlining CSS (premailer) is the costliest step of rendering a digest's email, and
every process that sends it would otherwise repeat it. The result depends only on
the document, so it is kept under the document's SHA-256 and can never be stale;
entries older than :data:`KEEP` are forgotten when a new one is written.
"""

from __future__ import annotations

import datetime as dt

from digest.store.backend import Database

KEEP = dt.timedelta(days=30)


class RenderedHtml:
    """The cache a :class:`~digest.site.render.Renderer` takes (``inline_cache``), at the time ``now``."""

    def __init__(self, db: Database, now: dt.datetime) -> None:
        self.db = db
        self.now = now

    def get(self, key: str) -> str | None:
        rows = self.db.execute("SELECT html FROM rendered_html WHERE hash = ?", (key,))
        return str(rows[0][0]) if rows else None

    def put(self, key: str, html: str) -> None:
        now = self.now
        with self.db.transaction():
            self.db.execute("DELETE FROM rendered_html WHERE created_at < ?", (now - KEEP,))
            self.db.execute(
                "INSERT INTO rendered_html (hash, html, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                (key, html, now),
            )
