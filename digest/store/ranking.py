"""Ranking rows kept per digest: bytes under a scope (a digest, a week's mails) and a key (what the bytes are of).

What the bytes mean is the ranking stage's business; this module keeps them. Keys are looked up by their
SHA-256 (a key may hold a reader's interest terms or a paper's title: an index never sees more than the
hash), and kept whole beside it, so that a scope's rows can be read back all at once. Rows older than
:data:`KEEP` are forgotten when new ones are written: a digest that old is made again on the rare
occasion it is needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence

from digest.store.backend import Database

KEEP = dt.timedelta(days=40)
#: A large record (a digest's features) is kept in parts of at most this many bytes (see :meth:`RankingRows.put_parts`).
PART = 4 * 2**20
#: Keys looked up per statement.
LOOKUP_CHUNK = 500


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class RankingRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, scope: str, keys: Iterable[str]) -> dict[str, bytes]:
        """The kept rows of ``keys`` under ``scope`` (those that are kept), by key."""
        by_hash = {_hashed(key): key for key in keys}
        hashes = list(by_hash)
        found: dict[str, bytes] = {}
        for start in range(0, len(hashes), LOOKUP_CHUNK):
            chunk = hashes[start : start + LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for key, data in self.db.execute(
                f"SELECT key, data FROM ranking_rows WHERE scope = ? AND key IN ({marks})", (scope, *chunk)
            ):
                found[by_hash[str(key)]] = bytes(data)
        return found

    def put(self, scope: str, rows: Mapping[str, bytes], *, now: dt.datetime) -> None:
        """Keep ``rows`` under ``scope`` (a row already kept stays as it is)."""
        with self.db.transaction():
            self.db.execute_many(
                "INSERT INTO ranking_rows (scope, key, name, data, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO NOTHING",
                [(scope, _hashed(key), key, data, now) for key, data in rows.items()],
            )

    def put_parts(self, scope: str, key: str, parts: Iterable[bytes], *, now: dt.datetime) -> None:
        """Keep one large record as its ``parts`` (a part at a time: the record is never held whole, here or by
        the database driver), under a scope of its own, so that :meth:`all` and :meth:`size` of ``scope`` leave
        it out. A record already kept stays as it is."""
        parted = _parted(scope, key)
        with self.db.transaction():
            if self.db.execute("SELECT 1 FROM ranking_rows WHERE scope = ? LIMIT 1", (parted,)):
                return
            for number, part in enumerate(parts):
                self.db.execute(
                    "INSERT INTO ranking_rows (scope, key, name, data, created_at) VALUES (?, ?, ?, ?, ?)",
                    (parted, f"{number:08d}", f"{key} part {number}", part, now),
                )

    def parts(self, scope: str, key: str) -> Iterator[bytes]:
        """The parts of a record kept by :meth:`put_parts`, in order (none when it is not kept)."""
        parted = _parted(scope, key)
        numbers = self.db.execute("SELECT key FROM ranking_rows WHERE scope = ? ORDER BY key", (parted,))
        for (number,) in numbers:
            for (data,) in self.db.execute(
                "SELECT data FROM ranking_rows WHERE scope = ? AND key = ?", (parted, str(number))
            ):
                yield bytes(data)

    def size(self, scope: str) -> int:
        """How many bytes the rows under ``scope`` hold."""
        ((total,),) = self.db.execute(
            "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM ranking_rows WHERE scope = ?", (scope,)
        )
        return int(total)

    def all(self, scope: str, *, but: Iterable[str] = ()) -> dict[str, bytes]:
        """Every row under ``scope`` (but those of the keys ``but``), by key."""
        skipped = [_hashed(key) for key in but]
        marks = "".join(" AND key <> ?" for _ in skipped)
        rows = self.db.execute(f"SELECT name, data FROM ranking_rows WHERE scope = ?{marks}", (scope, *skipped))
        return {str(name): bytes(data) for name, data in rows}

    def forget_old(self, *, now: dt.datetime) -> None:
        self.db.execute("DELETE FROM ranking_rows WHERE created_at < ?", (now - KEEP,))

    def held_for_weekly(self) -> list[int]:
        """The digests held for active weekly readers that no queued weekly mail holds yet: what the next
        week's mails will hold (with the digests published meanwhile)."""
        held = self.db.execute(
            "SELECT DISTINCT d.digest_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.status = 'held' AND s.status = 'active' AND s.frequency = 'weekly'"
        )
        taken = self.db.execute(
            "SELECT DISTINCT digests FROM weekly_mails WHERE status IN ('queued', 'sending') AND digests <> ''"
        )
        open_ids = {int(part) for (digests,) in taken for part in str(digests).split(",")}
        return sorted(int(row[0]) for row in held if int(row[0]) not in open_ids)

    def waiting_for(self, subscriber_ids: Sequence[int]) -> tuple[list[int], list[tuple[dt.date, tuple[int, ...]]]]:
        """What may yet be sent to any of these readers: daily digests (queued for them, not queued for anyone yet,
        or the latest, which a newcomer gets), and weekly mails queued for them (their week and digest ids)."""
        daily = {
            int(row[0])
            for row in self.db.execute(
                "SELECT id FROM digests WHERE queued_at IS NULL OR id = (SELECT MAX(id) FROM digests)"
            )
        }
        weekly: set[tuple[dt.date, str]] = set()
        for start in range(0, len(subscriber_ids), 500):
            chunk = list(subscriber_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            daily.update(
                int(row[0])
                for row in self.db.execute(
                    f"SELECT DISTINCT digest_id FROM deliveries WHERE subscriber_id IN ({marks})"
                    " AND status IN ('queued', 'sending')",
                    chunk,
                )
            )
            weekly.update(
                (row[0], str(row[1]))
                for row in self.db.execute(
                    f"SELECT DISTINCT week, digests FROM weekly_mails WHERE subscriber_id IN ({marks})"
                    " AND status IN ('queued', 'sending') AND digests <> ''",
                    chunk,
                )
            )
        return sorted(daily), [
            (week, tuple(int(part) for part in digests.split(","))) for week, digests in sorted(weekly)
        ]


def _parted(scope: str, key: str) -> str:
    """The scope of a record kept in parts."""
    return f"{scope}/{key}"
