"""Sending speed and memory: one digest to 2,000 and 100,000 subscribers, every one ranked for them.

Every subscriber is distinct: two interest terms and three liked papers of
their own, so every message is ranked and assembled for its reader. The
server is Postfix's ``smtp-sink`` in another process; ``digest send`` runs as
its own process with 4 connections. The same number of same-size messages is
then sent by Postfix's C client ``smtp-source`` over 4 sessions for comparison.
Reports messages per second (wall time of the whole process, start-up
included), peak RSS, and our rate as a ratio of smtp-source's. With
``--postgres URL`` it also sends to the smaller list from PostgreSQL with two
workers at once, and checks that every subscriber got one message. Needs
Debian's postfix package (smtp-sink, smtp-source).

With ``--weekly`` every subscriber reads weekly: the three example dumps' digests are held for them and
``digest run`` queues and sends their week's mails (163 papers each).

With ``--dkim`` every message is also DKIM-signed (a 2048-bit RSA key made with openssl; target: at least
0.5 of smtp-source's rate at 2,000 readers).

    python bench/send.py [--subscribers 2000 100000] [--postgres postgresql://127.0.0.1/test] [--weekly] [--dkim]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digest.config import load_config
from digest.listings.ingest import IngestContext, ingest_paths
from digest.pipeline import publish
from digest.store import open_store

from _common import ROOT, digest_command, run_measured

SECRET = "benchmark-secret-key-0123456789abcdefghij"
NOW = dt.datetime.now(dt.UTC)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tool(name: str) -> str:
    for folder in ("/usr/sbin", "/usr/bin"):
        if Path(folder, name).exists():
            return str(Path(folder, name))
    raise SystemExit(f"{name} not found: apt-get install postfix (it ships smtp-sink and smtp-source)")


TERMS = (
    "retrieval, speech, audio, diffusion, reasoning, alignment, robotics, agents, benchmark, efficient, quantization,"
    " vision, video, 3d, graph, causal, bayesian, uncertainty, privacy, federated, code, math, physics, biology,"
    " chemistry, medical, language model, reinforcement learning, preference, reward, tokens, memory, attention,"
    " sparse, pruning, distillation, multimodal, segmentation, detection, generation"
).split(", ")


def profile_rows(subscriber_ids: list[int], papers: list[tuple[int, str, str]]) -> tuple[list, list]:  # type: ignore[type-arg]
    """Distinct profiles: subscriber n gets two interest terms and three liked papers chosen by n."""
    import itertools

    term_pairs = list(itertools.combinations(TERMS, 2))
    liked_triples = itertools.combinations(range(len(papers)), 3)
    interests, votes = [], []
    for n, (subscriber_id, triple) in enumerate(zip(subscriber_ids, liked_triples, strict=False)):
        interests.append((", ".join(term_pairs[n % len(term_pairs)]), subscriber_id))
        for index in triple:
            paper_id, title, abstract = papers[index]
            votes.append((subscriber_id, f"paper:{paper_id}", "like", paper_id, title, abstract, NOW))
    return interests, votes


def build_project(
    folder: Path,
    subscribers: int,
    connections: int,
    database: str = "sqlite:///digest.db",
    *,
    weekly: bool = False,
    dkim: Path | None = None,
) -> Path:
    """A project with one published digest (the largest example dump) and N active, distinct subscribers.

    ``weekly``: the three example dumps' digests (163 papers) held for N weekly readers, whose week falls
    due a minute ago (so that ``digest run`` now queues and sends their mails).
    """
    (folder / "inbox").mkdir(parents=True)
    config_path = folder / "schedule.yaml"
    due = NOW - dt.timedelta(minutes=1)
    weekly_time = f"schedule: {{weekly: '{due:%a %H:%M}', misfire_grace: 1h}}\n" if weekly else ""
    config_path.write_text(
        f"timezone: UTC\ninbox: inbox\ndatabase: '{database}'\n"
        "site: {url: 'https://digest.example.org/', dir: site}\n"
        f"delivery: {{connections: {connections}, rate: 0, outbox: outbox{dkim_keys(dkim)}}}\n" + weekly_time
    )
    config = load_config(config_path, {})
    dumps = (
        sorted((ROOT / "examples" / "dumps").glob("*.txt"))
        if weekly
        else [ROOT / "examples" / "dumps" / "000_3c17afee710faccb.txt"]
    )
    with open_store(config.database, now=NOW) as store:
        for dump in dumps:
            ingest_paths(store, [dump], IngestContext(inbox=config.inbox, timezone=config.timezone, now=NOW))
            publish(store, config, now=NOW)
        with store.transaction(exclusive=True):
            store.db.execute_many(
                "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at,"
                " frequency) VALUES (?, 'active', '', '', ?, ?, ?)",
                [(f"reader{i:06d}@example.org", NOW, NOW, "weekly" if weekly else "daily") for i in range(subscribers)],
            )
        if weekly:  # each day's send has held its digest for the weekly readers
            for record in store.digests.published():
                store.digests.mark_queued(record.id, now=NOW)
                store.ledger.enqueue(record.id)
        with store.transaction(exclusive=True):
            ids = [int(row[0]) for row in store.db.execute("SELECT id FROM subscribers ORDER BY id")]
            papers = [
                (int(i), str(t), str(a)) for i, t, a in store.db.execute("SELECT id, title, abstract FROM papers")
            ]
            interests, votes = profile_rows(ids, papers)
            store.db.execute_many("UPDATE subscribers SET interests = ? WHERE id = ?", interests)
            store.db.execute_many(
                "INSERT INTO votes (subscriber_id, paper_key, kind, paper_id, title, abstract, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                votes,
            )
    return config_path


def dkim_keys(key_file: Path | None) -> str:
    if key_file is None:
        return ""
    return f", dkim: {{domain: example.org, selector: bench, key_file: '{key_file}'}}"


def dkim_key(folder: Path) -> Path:
    """A 2048-bit RSA key, readable by its owner only."""
    path = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    path.chmod(0o600)
    return path


def digest_send(config_path: Path, port: int, *, weekly: bool = False) -> tuple[float, float, int]:
    """``digest send`` (or, for weekly readers, ``digest run``, which queues and sends their week)."""
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    command = "run" if weekly else "send"
    result = run_measured([*digest_command(), "--config", str(config_path), command, "--verbose"], env=env)
    if result.returncode != 0:
        raise SystemExit(f"digest {command} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    line = next(line for line in reversed(result.stdout.splitlines()) if " sent" in line)
    sent = int(line.split(": ", 1)[1].split(" sent", 1)[0])
    return result.wall, result.peak_rss_mb, sent


def message_size(config_path: Path) -> int:
    """The size of one subscriber's message (as ``digest preview --subscriber`` writes it)."""
    out = Path(tempfile.mkdtemp())
    reader = "reader000001@example.org"
    subprocess.run(
        [*digest_command(), "--config", str(config_path), "preview", "--subscriber", reader, "--out", str(out)],
        check=True,
        capture_output=True,
    )
    size = next(out.glob("*.eml")).stat().st_size
    shutil.rmtree(out)
    return size


def smtp_source(port: int, count: int, size: int, sessions: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            tool("smtp-source"),
            "-d",
            "-s",
            str(sessions),
            "-l",
            str(size),
            "-m",
            str(count),
            "-f",
            "digest@example.org",
            "-t",
            "reader@example.org",
            f"127.0.0.1:{port}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--postgres", metavar="URL", help="also send from PostgreSQL with two workers")
    parser.add_argument("--weekly", action="store_true", help="weekly readers: a week of 163 papers, via digest run")
    parser.add_argument("--dkim", action="store_true", help="DKIM-sign every message")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-send-bench-"))
    key_file = dkim_key(work) if args.dkim else None
    port = free_port()
    sink = subprocess.Popen(
        [tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    connections = args.connections
    try:
        for count in args.subscribers:
            config_path = build_project(work / f"n{count}", count, connections, weekly=args.weekly, dkim=key_file)
            size = message_size(config_path)
            wall, rss, sent = digest_send(config_path, port, weekly=args.weekly)
            ours = sent / wall
            kind = "weekly readers' mails (digest run)" if args.weekly else "digest send"
            kind += ", DKIM-signed" if key_file else ""
            print(
                f"{kind}, {count:,} distinct subscribers, {connections} connections: {sent:,} messages of"
                f" {size / 1000:.0f} KB in {wall:.1f} s = {ours:,.0f} msg/s; peak RSS {rss:.0f} MB"
            )
            theirs = count / smtp_source(port, count, size, connections)
            print(
                f"  smtp-source, {connections} sessions, same count and size: {theirs:,.0f} msg/s;"
                f" digest's rate is {ours / theirs:.2f} of it (target >= {0.5 if key_file else 0.6})"
            )
        if args.postgres:
            two_workers(work, port, args.postgres, min(args.subscribers), connections)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


def two_workers(work: Path, port: int, url: str, count: int, connections: int) -> None:
    """Two `digest send` processes on one PostgreSQL digest: every subscriber gets one message."""
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in url else "?"
        database = f"{url}{separator}options=-csearch_path%3D{schema}"
        config_path = build_project(work / "pg", count, connections, database)
        env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}
        command = [*digest_command(), "--config", str(config_path), "send", "--verbose"]
        start = time.perf_counter()
        workers = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [worker.communicate() for worker in workers]
        wall = time.perf_counter() - start
        sent = [int(out.split(": ", 1)[1].split(" sent", 1)[0]) for out, _ in outputs if " sent" in out]
        with psycopg.connect(database, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT status, COUNT(*), COUNT(DISTINCT subscriber_id) FROM deliveries GROUP BY status"
            ).fetchall()
        print(
            f"PostgreSQL, two workers, {count:,} distinct subscribers: {sum(sent):,} messages in {wall:.1f} s"
            f" = {sum(sent) / wall:,.0f} msg/s (workers sent {' + '.join(map(str, sent))});"
            f" ledger: {', '.join(f'{status} {n} ({distinct} subscribers)' for status, n, distinct in rows)}"
        )
        if sum(sent) != count or rows != [("sent", count, count)]:
            raise SystemExit("some subscriber got no message, or more than one")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
