"""Connections to SQLite (the embedded default) and PostgreSQL behind one interface.

SQL is written once, with ``?`` placeholders; the PostgreSQL backend rewrites
them. Times are timezone-aware ``datetime`` values and dates are ``date``
values on both backends (SQLite stores them as fixed-format UTC ISO text, so
they sort as they compare).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from digest.errors import StoreError

Row = tuple[Any, ...]
Params = Sequence[Any]

#: The advisory lock that serialises writers on PostgreSQL (any fixed 64-bit number).
WRITE_LOCK_ID = 0x6469676573740001  # "digest" + 1


class Database(Protocol):
    """What the repositories need of a connection."""

    dialect: str
    url: str

    def execute(self, sql: str, params: Params = ()) -> list[Row]: ...

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None: ...

    def transaction(self, *, exclusive: bool = False) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


def _adapt_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware one")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _convert_datetime(value: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(value.decode())


def _convert_date(value: bytes) -> dt.date:
    return dt.date.fromisoformat(value.decode())


sqlite3.register_adapter(dt.datetime, _adapt_datetime)
sqlite3.register_adapter(dt.date, lambda value: value.isoformat())
sqlite3.register_converter("TIMESTAMPTZ", _convert_datetime)
sqlite3.register_converter("DATE", _convert_date)


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of the SQLite database {path}: {exc.strerror or exc}"
                ) from exc
        try:
            self._conn = sqlite3.connect(
                path,
                isolation_level=None,
                detect_types=sqlite3.PARSE_DECLTYPES,
                timeout=60,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA foreign_keys = ON")
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, path, doing="open") from exc
        self._in_transaction = False

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from exc

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from exc

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[None]:
        if self._in_transaction:
            yield
            return
        # IMMEDIATE takes the write lock at once, so that concurrent writers
        # queue up instead of failing halfway through.
        self.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._in_transaction = False
            self._conn.execute("ROLLBACK")
            raise
        self._in_transaction = False
        self.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise StoreError("PostgreSQL support needs psycopg", hint="pip install 'psycopg[binary]'") from exc
        self.url = url
        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {redact(url)}: {_first_line(exc)}") from exc
        self._sql_cache: dict[str, str] = {}
        self._transaction_depth = 0

    def _translate(self, sql: str) -> str:
        translated = self._sql_cache.get(sql)
        if translated is None:
            translated = self._sql_cache[sql] = sql.replace("%", "%%").replace("?", "%s")
        return translated

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            cursor = self._conn.execute(self._translate(sql), params)
            return cursor.fetchall() if cursor.description else []
        except self._psycopg.Error as exc:
            raise _postgres_error(exc) from exc

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._translate(sql), list(rows))
        except self._psycopg.Error as exc:
            raise _postgres_error(exc) from exc

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[None]:
        if self._transaction_depth:
            yield
            return
        self._transaction_depth += 1
        try:
            with self._conn.transaction():
                if exclusive:
                    self.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_ID,))
                yield
        except self._psycopg.Error as exc:
            raise _postgres_error(exc) from exc
        finally:
            self._transaction_depth -= 1

    def close(self) -> None:
        self._conn.close()


def connect(url: str) -> SQLiteDatabase | PostgresDatabase:
    """Open the database a URL names: ``sqlite:///path``, ``sqlite://`` (memory) or ``postgresql://...``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return SQLiteDatabase(url, sqlite_path(url))
    if scheme in {"postgresql", "postgres"}:
        return PostgresDatabase(url)
    raise StoreError(f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql://...")


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:`` URL; ``:memory:`` for ``sqlite://``."""
    path = url.split(":", 1)[1]
    if path in {"", "//", "///:memory:", "//:memory:"}:
        return ":memory:"
    if not path.startswith("///"):
        raise StoreError(f"bad SQLite URL {url!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return path[3:]


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_RETRY_LATER = "another digest command (or a program holding the file) is still working; try again when it has finished"


def _sqlite_error(exc: sqlite3.Error, path: str, *, doing: str = "use") -> StoreError:
    """What went wrong with a SQLite database, in words that point at the real cause."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
        return StoreError(
            f"the disk holding the database {path} is full; the last step was not recorded",
            hint="free some space on that disk and run again",
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(exc):
        return StoreError(f"the database {path} stayed locked by another process for 60 s", hint=_RETRY_LATER)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreError(
            f"cannot {doing} the SQLite database {path}: {exc}",
            hint="check that the file and its folder exist and are writable, or fix 'database' in schedule.yaml",
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(
            f"the file {path} is not a usable SQLite database: {exc}",
            hint="restore it from a backup, or fix 'database' in schedule.yaml",
        )
    return StoreError(f"database error: {exc}")


def _postgres_error(exc: Exception) -> StoreError:
    state = getattr(exc, "sqlstate", None) or ""
    if state == "53100":  # disk_full
        return StoreError(
            f"the PostgreSQL server's disk is full: {_first_line(exc)}", hint="free space on the database server"
        )
    if state in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return StoreError(f"the database is locked by another process: {_first_line(exc)}", hint=_RETRY_LATER)
    return StoreError(f"database error: {_first_line(exc)}")
