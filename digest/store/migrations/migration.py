"""One numbered schema change: its statements, written once for SQLite and PostgreSQL.

A statement may use ``{pk}`` (an integer primary key), ``{bigint}`` (a 64-bit integer), ``{blob}`` (bytes) and
``{random_key}`` (an expression giving each row a random text key), filled in for the database's dialect when the
migration is applied.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
