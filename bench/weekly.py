"""Weekly mails at scale: what queueing a week costs, and the schema change that brought them.

1. A week of 7 daily digests (the three example dumps and four made-up days) is
   published and queued for N weekly readers (each digest's ledger rows are
   *held* for them), then the week falls due and is queued: one mail per reader,
   taking their 7 held rows. Prints the time of each step, on SQLite and (with
   ``--postgres URL``) PostgreSQL. Sending the queued mails is the daily send
   loop (``bench/send.py`` measures it).
2. Migration 17 rebuilds the ``deliveries`` table (SQLite cannot change a CHECK
   constraint in place): its time on a ledger of ``--ledger-rows`` rows.

    python bench/weekly.py [--readers 2000 100000] [--ledger-rows 1000000] [--postgres postgresql://127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digest.config import Config, load_config
from digest.listings.ingest import IngestContext, ingest_paths
from digest.mail.weekly import queue_due_week
from digest.pipeline import publish
from digest.store import Store, migrations, open_store
from digest.weekly import FIRST_LOOKBACK

from _common import ROOT

MONDAY = dt.datetime(2027, 3, 22, 7, tzinfo=dt.UTC)


def made_up_day(number: int) -> bytes:
    papers = [
        f"Made-up paper {number}-{k} on topic {k % 7}\nWe study topic {k % 7} on benchmark {number * 100 + k}.\n"
        for k in range(30)
    ]
    return "\n".join(papers).encode()


def project(folder: Path, database: str) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inbox").mkdir(exist_ok=True)
    config_path = folder / "schedule.yaml"
    config_path.write_text(
        f"timezone: UTC\ninbox: inbox\ndatabase: '{database}'\n"
        "site: {url: 'https://digest.example.org/', dir: site}\n"
    )
    return load_config(config_path, {})


def publish_a_week(store: Store, config: Config) -> float:
    """Seven daily digests, each queued as a day's send does (held for weekly readers); the mean time of that."""
    dumps = sorted((ROOT / "examples" / "dumps").glob("*.txt"))
    for number in range(4):
        path = config.inbox / f"made-up-{number}.txt"
        path.write_bytes(made_up_day(number))
        dumps.append(path)
    held = 0.0
    for day, dump in enumerate(dumps):
        now = MONDAY - dt.timedelta(days=7 - day, hours=-1)
        ingest_paths(store, [dump], IngestContext(inbox=config.inbox, timezone=config.timezone, now=now))
        digest = publish(store, config, now=now).digest
        assert digest is not None and digest.id is not None
        start = time.perf_counter()
        store.ledger.enqueue(digest.id)
        held += time.perf_counter() - start
    return held / len(dumps)


def queue_a_week(database: str, readers: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        config = project(Path(work) / "project", database)
        with open_store(config.database, now=MONDAY) as store:
            with store.transaction(exclusive=True):
                store.db.execute_many(
                    "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at,"
                    " frequency) VALUES (?, 'active', '', '', ?, ?, 'weekly')",
                    [(f"reader{i:06d}@example.org", MONDAY, MONDAY) for i in range(readers)],
                )
            # Last week (nothing to send then): this week's mails are not the readers' first.
            previous = MONDAY - dt.timedelta(days=7)
            store.weekly.queue_week(previous.date(), due_at=previous, lookback=FIRST_LOOKBACK, now=previous)
            held = publish_a_week(store, config)
            start = time.perf_counter()
            queued = store.weekly.queue_week(MONDAY.date(), due_at=MONDAY, lookback=FIRST_LOOKBACK, now=MONDAY)
            queue_time = time.perf_counter() - start
            start = time.perf_counter()
            again = queue_due_week(store, config, MONDAY + dt.timedelta(minutes=5))
            again_time = time.perf_counter() - start
            groups = store.weekly.open_groups()
            digests = len(groups[0].digests) if groups else 0
    print(
        f"  {readers:>7,} readers: hold a day's rows {held * 1000:6.0f} ms; queue the week {queue_time * 1000:6.0f} ms"
        f" ({queued:,} mails of {digests} digests, {len(groups)} digest set(s)); a run after that"
        f" {again_time * 1000:4.0f} ms ({again.mails if again else 0} more)"
    )


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped afterwards."""
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def migration_17(rows: int) -> None:
    """Migration 17's time on a SQLite ledger of ``rows`` rows (1,000 subscribers x rows/1,000 digests)."""
    from digest.store.backend import connect

    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/ledger.db"
        db = connect(url)
        latest = migrations.MIGRATIONS
        try:
            migrations.MIGRATIONS = tuple(m for m in latest if m.version < 17)
            migrations.LATEST_VERSION = 16
            migrations.migrate(db, now=MONDAY)
        finally:
            migrations.MIGRATIONS, migrations.LATEST_VERSION = latest, latest[-1].version
        subscribers, digests = 1_000, max(rows // 1_000, 1)
        db.execute("PRAGMA foreign_keys = OFF")  # (digests without their dumps: only the ledger matters here)
        with db.transaction(exclusive=True):
            db.execute_many(
                "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at)"
                " VALUES (?, 'active', '', '', ?)",
                [(f"r{i}@example.org", MONDAY) for i in range(subscribers)],
            )
            db.execute_many(
                "INSERT INTO digests (slug, digest_date, first_dump_id, last_dump_id, seen_before, dump_dates,"
                " published_at, paper_count) VALUES (?, ?, 0, 0, 0, '[]', ?, 0)",
                [(f"d{i}", MONDAY.date(), MONDAY) for i in range(digests)],
            )
            db.execute(
                "INSERT INTO deliveries (digest_id, subscriber_id, status, sent_at)"
                " SELECT d.id, s.id, 'sent', ? FROM digests d CROSS JOIN subscribers s",
                (MONDAY,),
            )
        start = time.perf_counter()
        migrations.migrate(db, now=MONDAY)
        took = time.perf_counter() - start
        ((count,),) = db.execute("SELECT COUNT(*) FROM deliveries")
        db.close()
    print(f"  migration 17 on {int(count):,} ledger rows (SQLite): {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--ledger-rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="also queue on PostgreSQL (in a schema of its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        print("SQLite:")
        for readers in args.readers:
            queue_a_week(f"sqlite:///{work}/weekly-{readers}.db", readers)
    if args.postgres:
        print("PostgreSQL:")
        for readers in args.readers:
            with fresh_schema(args.postgres) as database:
                queue_a_week(database, readers)
    migration_17(args.ledger_rows)


if __name__ == "__main__":
    main()
