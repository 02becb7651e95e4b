"""Persistence: the only package that speaks SQL.

``open_store(url, now=...)`` connects, applies pending migrations and returns a
:class:`Store` whose repositories share one connection.

Takes in: values of :mod:`digest.models`. Hands on: the same values, read back.
May import: the base only (models, errors, subscribers' terms); no stage.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

from digest.models import DumpRecord
from digest.store.backend import Database, connect
from digest.store.digests import Digests
from digest.store.follows import Follows
from digest.store.history import History, HistoryCounts
from digest.store.imports import SubscriberImport
from digest.store.ledger import Ledger
from digest.store.migrations import migrate
from digest.store.profiles import Profiles
from digest.store.ranking import RankingRows
from digest.store.rendered import RenderedHtml
from digest.store.returns import ReturnedMail
from digest.store.sources import Sources
from digest.store.subscribers import Subscribers
from digest.store.weekly import WeeklyMails
from digest.store.weeks import Weeks

__all__ = ["Digests", "DumpRecord", "HistoryCounts", "Store", "open_store"]


class Store:
    """One database connection and the repositories over it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.history = History(db)
        self.digests = Digests(db)
        self.subscribers = Subscribers(db)
        self.ledger = Ledger(db)
        self.sources = Sources(db)
        self.profiles = Profiles(db)
        self.follows = Follows(db)
        self.weekly = WeeklyMails(db)
        self.weeks = Weeks(db)
        self.returned = ReturnedMail(db, self.subscribers)
        self.ranking = RankingRows(db)
        self.imports = SubscriberImport(db)

    def transaction(self, *, exclusive: bool = False) -> AbstractContextManager[None]:
        """A transaction; ``exclusive`` also queues this writer behind any other."""
        return self.db.transaction(exclusive=exclusive)

    def state(self, key: str) -> dt.datetime | None:
        """A time the scheduler remembers across restarts."""
        rows = self.db.execute("SELECT value FROM scheduler_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_state(self, key: str, value: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO scheduler_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def identity(self) -> str:
        """The random name this history was given when it was created."""
        return str(self.db.execute("SELECT id FROM store_identity")[0][0])

    def rendered_html(self, now: dt.datetime) -> RenderedHtml:
        """Inlined email HTML kept across processes (a renderer's ``inline_cache``)."""
        return RenderedHtml(self.db, now)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str, *, now: dt.datetime) -> Store:
    """Connect to ``url`` and bring its schema up to date."""
    db = connect(url)
    try:
        migrate(db, now=now)
    except BaseException:
        db.close()
        raise
    return Store(db)
