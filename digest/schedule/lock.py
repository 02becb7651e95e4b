"""The run lock: one ``digest run`` (or scheduler job) works at a time.

SQLite: an exclusive ``flock`` on a file beside the database (``NAME.db.lock``).
PostgreSQL: a session advisory lock on a connection of its own. Both are
released by the operating system or the server when the process dies, so a
crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from digest.errors import LockedError, StoreError
from digest.store.backend import sqlite_path

RUN_LOCK_ID = 0x6469676573740002  # "digest" + 2


@contextlib.contextmanager
def run_lock(database_url: str) -> Iterator[None]:
    """Hold the run lock for the block; LockedError at once when another process holds it."""
    scheme = urlsplit(database_url).scheme.lower()
    if scheme == "sqlite":
        path = sqlite_path(database_url)
        if path == ":memory:":
            yield
            return
        with _file_lock(Path(path + ".lock")):
            yield
    else:
        with _advisory_lock(database_url):
            yield


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another digest run is working (it holds {path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to PostgreSQL to take the run lock: {str(exc).strip()}") from exc
    try:
        (taken,) = conn.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_ID,)).fetchone()  # type: ignore[misc]
        if not taken:
            raise LockedError("another digest run is working (it holds the database's run lock)")
        yield
    finally:
        conn.close()  # ending the session releases the lock
