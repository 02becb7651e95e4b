"""The send ledger: claims, take-overs, concurrent workers, and crashes at any moment."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.store import Store, open_store

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project
from smtp_server import SMTPServer


def seeded(url: str, subscribers: int) -> tuple[Store, int]:
    """A store with one digest and ``subscribers`` active subscribers; returns it and the digest id."""
    from digest.listings.diff import diff_dump, identify
    from digest.models import Paper

    store = open_store(url, now=NOW)
    papers = [Paper(f"Paper {i}", "some words of an abstract " * 5, rank=i + 1, line=i) for i in range(3)]
    with store.transaction(exclusive=True):
        diff = diff_dump(identify(papers), known_keys={}, known_fingerprints={})
        dump_id = store.history.record_dump(
            sha256="a" * 64,
            file_name="d.txt",
            listed_on=None,
            dump_date=dt.date(2026, 3, 12),
            arrived_at=NOW,
            ingested_at=NOW,
            diff=diff,
        )
    from digest.listings.compose import build_digest

    digest = build_digest(
        dumps=[store.history.dump_by_hash("a" * 64)],
        papers=store.history.papers(limit=None),  # type: ignore[list-item]
        now=NOW,
    )
    assert digest is not None and dump_id
    with store.transaction(exclusive=True):
        digest_id = store.digests.record(digest)
        for i in range(subscribers):
            store.subscribers.add(f"reader{i:04d}@example.org", status="active", now=NOW)
    return store, digest_id


def test_a_claim_late_in_a_large_send_does_no_more_work_than_the_first(tmp_path: Path) -> None:
    """A claim reads the queued deliveries it takes, not every delivery sent before them: a send to 100,000
    readers does not slow down as it goes. (Work counted in SQLite's virtual-machine steps, not in time.)"""
    store, digest_id = seeded(f"sqlite:///{tmp_path}/d.db", 2_000)
    store.ledger.enqueue(digest_id)
    # SQLite's own connection: its progress handler counts the steps of what runs on it.
    connection = store.db._conn  # type: ignore[attr-defined]

    def claim_and_send() -> int:
        steps = [0]

        def counted() -> int:
            steps[0] += 1
            return 0

        connection.set_progress_handler(counted, 100)
        claims = store.ledger.claim(digest_id, worker="host:1", limit=50, now=NOW, stale_after=dt.timedelta(hours=1))
        connection.set_progress_handler(None, 0)
        store.ledger.mark_sent_many(digest_id, [claim.subscriber.id for claim in claims], now=NOW)
        return steps[0]

    first = claim_and_send()
    for _ in range(36):
        claim_and_send()
    assert store.ledger.counts(digest_id).sent == 37 * 50
    assert claim_and_send() < 1.5 * first  # (walking the 1,850 sent rows first made it three times the work)
    store.close()


def test_claims_are_exclusive_and_in_batches(store_url: str) -> None:
    store, digest_id = seeded(store_url, 10)
    assert store.ledger.enqueue(digest_id) == 10
    assert store.ledger.enqueue(digest_id) == 0
    first = store.ledger.claim(digest_id, worker="host:1", limit=4, now=NOW, stale_after=dt.timedelta(minutes=10))
    second = store.ledger.claim(digest_id, worker="host:2", limit=4, now=NOW, stale_after=dt.timedelta(minutes=10))
    assert len(first) == len(second) == 4
    assert not {c.subscriber.id for c in first} & {c.subscriber.id for c in second}
    counts = store.ledger.counts(digest_id)
    assert (counts.queued, counts.sending) == (2, 8)
    store.close()


def test_a_stale_claim_is_taken_over(store_url: str) -> None:
    store, digest_id = seeded(store_url, 3)
    store.ledger.enqueue(digest_id)
    stale = dt.timedelta(minutes=10)
    taken = store.ledger.claim(digest_id, worker="elsewhere:42", limit=3, now=NOW, stale_after=stale)
    assert len(taken) == 3
    assert (
        store.ledger.claim(digest_id, worker="here:1", limit=3, now=NOW + dt.timedelta(minutes=5), stale_after=stale)
        == []
    )
    later = store.ledger.claim(
        digest_id, worker="here:1", limit=3, now=NOW + dt.timedelta(minutes=11), stale_after=stale
    )
    assert len(later) == 3
    store.close()


def test_a_claim_of_a_dead_local_process_is_released_at_once(store_url: str) -> None:
    from digest.store.ledger import worker_name

    store, digest_id = seeded(store_url, 2)
    store.ledger.enqueue(digest_id)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ghost = worker_name().rsplit(":", 1)[0] + ":" + dead.stdout.strip()
    store.ledger.claim(digest_id, worker=ghost, limit=2, now=NOW, stale_after=dt.timedelta(hours=1))
    store.ledger.claim(digest_id, worker="otherhost:1", limit=2, now=NOW, stale_after=dt.timedelta(hours=1))
    assert store.ledger.release_dead_claims(digest_id) == 1
    assert store.ledger.counts(digest_id).queued == 2
    store.close()


# -- processes ---------------------------------------------------------------------------------------


def spawn_send(project: Project, smtp: SMTPServer) -> subprocess.Popen[str]:
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_SMTP_URL": smtp.url}
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(project.config), "send"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def prepare(project: Project, count: int, connections: int) -> None:
    project.write_config(delivery=f"  connections: {connections}\n  claim_timeout: 10m\n")
    assert project.run("ingest", str(EXAMPLE_DUMPS[1])).code == 0
    assert project.run("publish").code == 0
    csv_file = project.root / "readers.csv"
    csv_file.write_text("email\n" + "".join(f"reader{i:04d}@example.org\n" for i in range(count)))
    assert project.run("subscribers", "import", str(csv_file)).code == 0


@pytest.mark.slow
def test_killed_senders_lose_nothing_and_resend_only_what_was_in_flight(
    project: Project,
    smtp_server: SMTPServer,
) -> None:
    count, connections = 500, 2
    prepare(project, count, connections)
    smtp_server.sink.delay = 0.01  # 500 messages take at least 2.5 s over two connections
    kills = 0
    for wait in (0.2, 0.5, 0.8):
        before = len(smtp_server.sink.received)
        process = spawn_send(project, smtp_server)
        deadline = time.monotonic() + 30
        while len(smtp_server.sink.received) == before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # starting (imports, rendering, ranking) takes a while: kill it mid-send
        time.sleep(wait)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate()
    assert kills == 3, "a sender finished before it could be killed: slow the sink down"
    partial = len(smtp_server.sink.received)
    assert 0 < partial < count
    final = spawn_send(project, smtp_server)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    got = smtp_server.sink.by_recipient()
    assert len(got) == count  # everyone has it
    extra = sum(len(items) - 1 for items in got.values())
    print(f"crash test: {kills} kills, {partial} messages before the final run, {extra} sent twice")
    # Only what was in flight at a kill came twice: per connection, the message on the wire and
    # at most one accepted just before whose result the main thread had not yet recorded.
    assert extra <= kills * connections * 2


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_share_one_digest_on_postgresql(
    tmp_path: Path,
    postgres_url: str,
    smtp_server: SMTPServer,
) -> None:
    project = Project(tmp_path / "project", postgres_url)
    project.inbox.mkdir(parents=True)
    prepare(project, 200, 2)
    smtp_server.sink.delay = 0.04  # 4 s of sending: much longer than the gap between the two workers' starts
    workers = [spawn_send(project, smtp_server) for _ in range(2)]
    codes = []
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        codes.append(worker.returncode)
        # The worker that ends first while the other still sends says so, and exits 3: work is left.
        assert worker.returncode == 0 or (worker.returncode == 3 and "being sent by another worker" in err), err
    assert 0 in codes  # the last one to finish saw nothing left
    got = smtp_server.sink.by_recipient()
    assert len(got) == 200 and all(len(items) == 1 for items in got.values())
    with open_store(postgres_url, now=NOW) as store:
        owners = store.db.execute("SELECT COUNT(DISTINCT claimed_by) FROM deliveries WHERE status = 'sent'")
    assert owners[0][0] == 2  # both workers did part of the work


def test_a_delivery_another_worker_finishes_at_the_end_of_a_run_is_not_reported_as_waiting(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent worker sends the last delivery just as this run counts what is left: nothing failed, exit 0."""
    from digest.mail.queues import DigestQueue

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.drop(EXAMPLE_DUMPS[1])
    for address in ("ada@example.org", "bob@example.org"):
        assert project.run("subscribers", "add", address).code == 0
    assert project.run("ingest").code == 0 and project.run("publish").code == 0
    with open_store(f"sqlite:///{project.root / 'digest.db'}", now=NOW) as store:
        digest_id = store.digests.latest_id()
        assert digest_id is not None
        store.ledger.enqueue(digest_id)
        store.digests.mark_queued(digest_id, now=NOW)
        store.db.execute(  # bob's mail: being sent by a worker on another host
            "UPDATE deliveries SET status = 'sending', claimed_by = 'elsewhere:1', claimed_at = ?"
            " WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'bob@example.org')",
            (NOW,),
        )
    counted = DigestQueue.claimed_by_others

    def finished_meanwhile(self: DigestQueue, worker: str) -> int:
        found = counted(self, worker)
        self.ledger.db.execute("UPDATE deliveries SET status = 'sent', claimed_by = NULL WHERE status = 'sending'")
        return found

    monkeypatch.setattr(DigestQueue, "claimed_by_others", finished_meanwhile)
    result = project.run("run")
    assert result.code == 0, result.stderr
    assert result.stderr == ""
