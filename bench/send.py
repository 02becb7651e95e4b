"""Sending speed and memory against Postfix's C client, case by case, and the cost of an idle run.

The server is Postfix's ``smtp-sink`` in another process; ``digest send`` runs
as its own process with 4 connections, timed from outside (the whole process:
start-up, reading the kept ranking, rendering blocks, ranking and assembling
every reader's mail, SMTP, from its sending process too; a peak RSS is the larger
of the two processes', as Linux's accounting of a process and the children it
waited for gives it). The same number of same-size messages is then sent
by Postfix's ``smtp-source`` over 4 sessions: each row prints both rates of the
same run, their ratio and the goal, and the machine's load average beside them
(the rates only compare on a quiet machine). Cases:

- ``plain``: 2,000 readers without a profile;
- ``profiles``: 2,000 readers, each with two interest terms and three liked
  papers of their own (every one distinct), and the same for 20,000;
- ``memory``: 100,000 such readers: the peak RSS of the sending process;
- ``weekly``: 2,000 weekly readers: ``digest run`` queues and sends their
  week's mails (the three example dumps' digests, 163 papers);
- ``idle``: ``digest run`` with nothing to do (cron's every few minutes), wall
  time of the whole process, the median of 5;
- ``dkim``: 2,000 readers with profiles, every message also DKIM-signed (a
  2048-bit RSA key made with openssl; goal: at least 0.5 of smtp-source's rate).

The readers exist when the digests are published, as they do in real life, so
each publish keeps the rows their ranking needs. With ``--postgres URL`` it
also sends to 2,000 readers from PostgreSQL with two workers at once, and checks
that every subscriber got one message. Needs Debian's postfix package.

    python bench/send.py [--cases plain profiles memory weekly idle dkim] [--postgres postgresql://127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
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
    profiles: bool = True,
    dkim: Path | None = None,
) -> Path:
    """A project with one published digest (the largest example dump) and N active, distinct subscribers.

    ``weekly``: the three example dumps' digests (163 papers) held for N weekly readers, whose week falls
    due a minute ago (so that ``digest run`` now queues and sends their mails). ``profiles``: each reader
    has two interest terms and three liked papers of the first dump (else none).
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
    context = IngestContext(inbox=config.inbox, timezone=config.timezone, now=NOW)
    with open_store(config.database, now=NOW) as store:
        ingest_paths(store, dumps[:1], context)
        with store.transaction(exclusive=True):
            store.db.execute_many(
                "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at,"
                " frequency) VALUES (?, 'active', '', '', ?, ?, ?)",
                [(f"reader{i:06d}@example.org", NOW, NOW, "weekly" if weekly else "daily") for i in range(subscribers)],
            )
        if profiles:
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
        started = time.perf_counter()
        for number, dump in enumerate(dumps):
            if number:
                ingest_paths(store, [dump], context)
            recorded = publish(store, config, now=NOW).digest
            if weekly and recorded is not None and recorded.id is not None:  # (each day's send holds it for them)
                store.digests.mark_queued(recorded.id, now=NOW)
                store.ledger.enqueue(recorded.id)
        print(f"  (publishing took {time.perf_counter() - started:.1f} s: site, email, topics, every reader's rows)")
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


#: Each case: readers, whether they have profiles, whether they read weekly, and the goal for the ratio.
CASES = {
    "plain": [(2_000, False, False, 0.6)],
    "profiles": [(2_000, True, False, 0.6), (20_000, True, False, 0.6)],
    "memory": [(100_000, True, False, None)],
    "weekly": [(2_000, True, True, 0.5)],
    "dkim": [(2_000, True, False, 0.5)],  # (signed)
}
MEMORY_GOAL_MB = 200
IDLE_GOAL_S = 0.3


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def case(
    work: Path,
    port: int,
    connections: int,
    count: int,
    profiles: bool,
    weekly: bool,
    goal: float | None,
    *,
    dkim: Path | None = None,
) -> None:
    who = f"{count:,} {'weekly ' if weekly else ''}readers, " + (
        "each with 2 interest terms and 3 likes (distinct)" if profiles else "no profiles"
    )
    print(f"{who}{', every message DKIM-signed' if dkim else ''}:")
    config_path = build_project(
        work / f"{'w' if weekly else 'd'}{count}{'p' if profiles else ''}{'k' if dkim else ''}",
        count,
        connections,
        weekly=weekly,
        profiles=profiles,
        dkim=dkim,
    )
    size = message_size(config_path)
    before = load()
    wall, rss, sent = digest_send(config_path, port, weekly=weekly)
    ours = sent / wall
    command = "digest run (queues and sends the week)" if weekly else "digest send"
    print(
        f"  {command}: {sent:,} messages of {size / 1000:.0f} KB in {wall:.2f} s = {ours:,.0f} msg/s;"
        f" peak RSS {rss:.0f} MB ({before} before, {load()} after)"
    )
    before = load()
    theirs = count / smtp_source(port, count, size, connections)
    verdict = f"goal >= {goal}" if goal is not None else f"peak RSS goal <= {MEMORY_GOAL_MB} MB"
    print(
        f"  smtp-source, {connections} sessions, same count and size: {theirs:,.0f} msg/s ({before});"
        f" digest/smtp-source = {ours / theirs:.2f} ({verdict})"
    )


def idle_run(work: Path, port: int) -> None:
    """``digest run`` with nothing to do: a sent digest, nothing new in the inbox; whole-process wall time."""
    config_path = build_project(work / "idle", 200, 4, profiles=False)
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    command = [*digest_command(), "--config", str(config_path), "run"]
    for _ in range(2):  # the first run sends the digest; the second finds nothing to do (and warms the disk cache)
        if run_measured(command, env=env).returncode:
            raise SystemExit("digest run failed")
    before = load()
    walls = []
    for _ in range(5):
        result = run_measured(command, env=env)
        if result.returncode or result.stdout or result.stderr:
            raise SystemExit(f"an idle run said something: {result.stdout}{result.stderr}")
        walls.append(result.wall)
    print(
        f"digest run with nothing to do: {statistics.median(walls):.3f} s wall, median of 5"
        f" (min {min(walls):.3f}, max {max(walls):.3f}; {before}); goal <= {IDLE_GOAL_S} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=[*CASES, "idle"], default=[*CASES, "idle"])
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--postgres", metavar="URL", help="also send from PostgreSQL with two workers")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-send-bench-"))
    port = free_port()
    sink = subprocess.Popen(
        [tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    # As an installed package is: compiled once (pip does it at install; PYTHONDONTWRITEBYTECODE would make every
    # measured process compile digest's modules from source again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "digest")], check=True)
    print(f"{os.cpu_count()} cores; {load()} at the start")
    try:
        for name in args.cases:
            if name == "idle":
                idle_run(work, port)
                continue
            key_file = dkim_key(work) if name == "dkim" else None
            for count, profiles, weekly, goal in CASES[name]:
                case(work, port, args.connections, count, profiles, weekly, goal, dkim=key_file)
        if args.postgres:
            two_workers(work, port, args.postgres, 2_000, args.connections)
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
