"""The history store, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digest.errors import StoreError
from digest.listings.diff import diff_dump, identify
from digest.models import Link, Paper, VotedPaper
from digest.store import Store, open_store
from digest.store.migrations import LATEST_VERSION, MIGRATIONS, schema_version

from conftest import NOW

ABSTRACT = " ".join(f"word{i}" for i in range(40))


def paper(title: str, abstract: str = ABSTRACT, rank: int = 1) -> Paper:
    return Paper(
        title=title, abstract=abstract, rank=rank, line=rank * 2, links=(Link("https://github.com/a/b", "code"),)
    )


def record(store: Store, sha: str, papers: list[Paper], day: dt.date = dt.date(2026, 3, 12)) -> list[str]:
    """Ingest ``papers`` as one dump the way the pipeline does; return the new titles."""
    identified = identify(papers)
    with store.transaction(exclusive=True):
        diff = diff_dump(
            identified,
            known_keys=store.history.known_title_keys(i.key for i in identified),
            known_fingerprints=store.history.known_fingerprints(i.fingerprint for i in identified),
        )
        store.history.record_dump(
            sha256=sha, file_name=f"{sha}.txt", listed_on=day, dump_date=day, arrived_at=NOW, ingested_at=NOW, diff=diff
        )
    return [entry.paper.title for entry in diff.new]


@pytest.fixture
def store(store_url: str) -> Store:
    with open_store(store_url, now=NOW) as store:
        yield store  # type: ignore[misc]


def test_migrations_are_recorded_and_applied_once(store_url: str) -> None:
    with open_store(store_url, now=NOW) as first:
        assert schema_version(first.db) == LATEST_VERSION
        rows = first.db.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [row[0] for row in rows] == [migration.version for migration in MIGRATIONS]
        assert all(row[1] for row in rows)
    with open_store(store_url, now=NOW) as again:
        assert len(again.db.execute("SELECT version FROM schema_migrations")) == len(MIGRATIONS)


def test_a_database_newer_than_the_code_is_refused(store_url: str) -> None:
    with open_store(store_url, now=NOW) as store:
        store.db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', ?)", (NOW,))
    with pytest.raises(StoreError, match="newer than this digest understands"):
        open_store(store_url, now=NOW)


def test_new_papers_are_recorded_and_known_afterwards(store: Store) -> None:
    assert record(store, "a" * 64, [paper("Alpha", "one " * 30), paper("Beta", "two " * 30, rank=2)]) == [
        "Alpha",
        "Beta",
    ]
    assert record(store, "b" * 64, [paper("alpha!", "one " * 30), paper("Gamma", "three " * 30, rank=2)]) == ["Gamma"]
    papers = store.history.papers(limit=None)
    assert sorted(p.title for p in papers) == ["Alpha", "Beta", "Gamma"]
    assert all(p.links == (Link("https://github.com/a/b", "code"),) for p in papers)
    assert {p.first_seen_on for p in papers} == {dt.date(2026, 3, 12)}
    assert all(p.first_seen_at == NOW for p in papers)


def test_a_revised_title_with_the_same_abstract_is_the_same_paper(store: Store) -> None:
    assert record(store, "a" * 64, [paper("Old Title")]) == ["Old Title"]
    assert record(store, "b" * 64, [paper("A Better, Revised Title")]) == []
    (stored,) = store.history.papers(limit=None)
    assert stored.title == "A Better, Revised Title"
    # Both titles now lead to the paper.
    assert record(store, "c" * 64, [paper("old title", "something else entirely " * 5)]) == []


def test_dump_records_and_counts(store: Store) -> None:
    record(store, "a" * 64, [paper("Alpha", "one " * 30), paper("Beta", "two " * 30, rank=2)])
    dump = store.history.dump_by_hash("a" * 64)
    assert dump is not None
    assert (dump.status, dump.paper_count, dump.new_count, dump.dump_date) == ("ingested", 2, 2, dt.date(2026, 3, 12))
    assert dump.ingested_at == NOW
    counts = store.history.counts()
    assert (counts.dumps, counts.papers, counts.rejected) == (1, 2, 0)


def test_papers_filter_by_first_seen_date(store: Store) -> None:
    record(store, "a" * 64, [paper("Early", "one " * 30)], day=dt.date(2026, 3, 1))
    record(store, "b" * 64, [paper("Late", "two " * 30)], day=dt.date(2026, 3, 20))
    assert [p.title for p in store.history.papers(since=dt.date(2026, 3, 10))] == ["Late"]
    assert [p.title for p in store.history.papers(since=None)] == ["Late", "Early"]


def test_processed_inbox_files(store: Store) -> None:
    store.history.mark_processed(name="x.txt", size=3, mtime_ns=5, sha256="a" * 64, status="ingested", now=NOW)
    assert store.history.is_processed("x.txt", size=3, mtime_ns=5)
    assert not store.history.is_processed("x.txt", size=4, mtime_ns=5)
    assert store.history.processed_files() == {"x.txt": (3, 5)}


def test_many_lookups_are_chunked(store: Store) -> None:
    papers = [paper(f"Paper number {i}", f"abstract {i} " * 25, rank=i + 1) for i in range(1200)]
    assert len(record(store, "a" * 64, papers)) == 1200
    again = [paper(f"Paper number {i}", f"abstract {i} " * 25, rank=i + 1) for i in range(1300)]
    assert len(record(store, "b" * 64, again)) == 100


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        open_store("postgresql://nobody@127.0.0.1:1/none", now=NOW)
    with pytest.raises(StoreError, match="unsupported database URL"):
        open_store("mysql://x/y", now=NOW)


def test_a_full_disk_and_a_locked_database_say_so(tmp_path: Path) -> None:
    import sqlite3

    from digest.errors import StoreError
    from digest.store.backend import _sqlite_error, connect

    db = connect(f"sqlite:///{tmp_path / 'small.db'}")
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("PRAGMA max_page_count = 3")  # a real SQLITE_FULL, as on a full disk
    with pytest.raises(StoreError) as caught:
        db.execute_many("INSERT INTO t VALUES (?)", [("x" * 2000,)] * 50)
    assert "is full" in caught.value.one_line() and "free some space" in caught.value.one_line()
    assert "'database'" not in caught.value.one_line()
    db.close()
    locked = _sqlite_error(sqlite3.OperationalError("database is locked"), "/srv/digest.db")
    assert "locked by another process" in locked.one_line() and "'database'" not in locked.one_line()


def test_readers_of_an_older_history_get_distinct_feed_keys_when_it_is_migrated(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.store import migrations
    from digest.store.backend import connect

    monkeypatch.setattr(migrations, "MIGRATIONS", tuple(m for m in migrations.MIGRATIONS if m.version < 18))
    monkeypatch.setattr(migrations, "LATEST_VERSION", 17)
    db = connect(store_url)
    migrations.migrate(db, now=NOW)
    for n in range(3):
        db.execute(
            "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at)"
            " VALUES (?, 'active', '', '', ?)",
            (f"r{n}@example.org", NOW),
        )
    db.close()
    monkeypatch.undo()
    with open_store(store_url, now=NOW) as store:
        keys = [row[0] for row in store.db.execute("SELECT feed_key FROM subscribers")]
        assert len(set(keys)) == 3 and all(keys)
        assert all(store.profiles.feed_identity(subscriber.id) for subscriber in store.subscribers.iter_all())


def test_a_large_record_is_kept_in_parts_read_back_in_order_and_apart_from_the_scopes_rows(store: Store) -> None:
    parts = [bytes([n]) * (1000 + n) for n in range(12)]  # (more than nine: the parts' order is not text order)
    store.ranking.put("digest:1", {"reader-row": b"\x01\x02", "reader-row-2": b"\x03"}, now=NOW)
    store.ranking.put_parts("digest:1", "features", iter(parts), now=NOW)
    assert list(store.ranking.parts("digest:1", "features")) == parts
    assert store.ranking.all("digest:1") == {"reader-row": b"\x01\x02", "reader-row-2": b"\x03"}
    assert store.ranking.size("digest:1") == 3
    store.ranking.put_parts("digest:1", "features", iter([b"other"]), now=NOW)
    assert list(store.ranking.parts("digest:1", "features")) == parts  # kept as it was
    assert list(store.ranking.parts("digest:2", "features")) == []


def test_the_profiles_of_more_readers_than_one_query_holds_are_all_read_and_no_abstract_becomes_sql(
    store: Store,
) -> None:
    """Profiles are read 500 readers a query; what the first query read (an abstract that looks like SQL among
    them) must not change the next query."""
    readers = [
        store.subscribers.add(f"reader{number}@example.org", status="active", now=NOW)[0] for number in range(502)
    ]
    hostile = "x FROM votes; DROP TABLE votes; --"
    for reader in readers:
        store.profiles.vote(
            reader.id, f"title:paper {reader.id}", "like", VotedPaper(f"Paper {reader.id}", hostile), now=NOW
        )
    for texts in (True, False):
        profiles = store.profiles.for_subscribers(readers, texts=texts)
        assert len(profiles) == 502
        assert all(profiles[reader.id].likes[0].title == f"Paper {reader.id}" for reader in readers)
        assert all(profiles[reader.id].likes[0].abstract == hostile for reader in readers)
