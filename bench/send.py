"""Sending speed and memory: one digest (HTML ~66 KB) to 10,000 subscribers over loopback.

The server is Postfix's ``smtp-sink`` in another process; ``digest send`` runs
as its own process with 1 and 4 connections. The same number of same-size
messages is then sent by Postfix's C client ``smtp-source`` for comparison.
Reports messages per second (wall time of the whole process, start-up
included), peak RSS (also for 1,000 subscribers, to show it does not grow with
the list), and our rate as a ratio of smtp-source's. Needs Debian's postfix
package (smtp-sink, smtp-source).

    python bench/send.py [--subscribers 10000]
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
from digest.ingest import IngestContext, ingest_paths
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


def build_project(folder: Path, subscribers: int, connections: int) -> Path:
    """A project with one published digest (the largest example dump) and N active subscribers."""
    folder.mkdir(parents=True)
    config_path = folder / "schedule.yaml"
    config_path.write_text(
        "timezone: UTC\ninbox: inbox\ndatabase: sqlite:///digest.db\n"
        "site: {url: 'https://digest.example.org/', dir: site}\n"
        f"delivery: {{connections: {connections}, rate: 0, outbox: outbox}}\n"
    )
    config = load_config(config_path, {})
    with open_store(config.database, now=NOW) as store:
        dump = ROOT / "examples" / "dumps" / "000_3c17afee710faccb.txt"
        ingest_paths(store, [dump], IngestContext(inbox=config.inbox, timezone=config.timezone, now=NOW))
        publish(store, config, now=NOW)
        with store.transaction(exclusive=True):
            store.db.execute_many(
                "INSERT INTO subscribers (email, status, include_terms, exclude_terms, created_at, confirmed_at)"
                " VALUES (?, 'active', '', '', ?, ?)",
                [(f"reader{i:06d}@example.org", NOW, NOW) for i in range(subscribers)],
            )
    return config_path


def digest_send(config_path: Path, port: int) -> tuple[float, float, int]:
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    result = run_measured([*digest_command(), "--config", str(config_path), "send", "--verbose"], env=env)
    if result.returncode != 0:
        raise SystemExit(f"digest send failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    sent = int(result.stdout.split(": ", 1)[1].split(" sent", 1)[0])
    return result.wall, result.peak_rss_mb, sent


def message_size(config_path: Path) -> int:
    out = Path(tempfile.mkdtemp())
    subprocess.run(
        [*digest_command(), "--config", str(config_path), "preview", "--out", str(out)], check=True, capture_output=True
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
    parser.add_argument("--subscribers", type=int, default=10_000)
    args = parser.parse_args()
    count = args.subscribers
    work = Path(tempfile.mkdtemp(prefix="digest-send-bench-"))
    port = free_port()
    sink = subprocess.Popen(
        [tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        size = None
        ours: dict[int, float] = {}
        for connections in (1, 4):
            config_path = build_project(work / f"c{connections}", count, connections)
            size = size or message_size(config_path)
            wall, rss, sent = digest_send(config_path, port)
            ours[connections] = sent / wall
            print(
                f"digest send, {connections} connection(s): {sent:,} messages of {size / 1000:.0f} KB in"
                f" {wall:.2f} s = {sent / wall:,.0f} msg/s; peak RSS {rss:.0f} MB"
            )
        small = build_project(work / "small", count // 10, 4)
        _, small_rss, small_sent = digest_send(small, port)
        print(f"peak RSS with {small_sent:,} subscribers: {small_rss:.0f} MB (flat in the list's size)")
        assert size is not None
        for sessions in (1, 4):
            wall = smtp_source(port, count, size, sessions)
            theirs = count / wall
            print(
                f"smtp-source, {sessions} session(s): {count:,} messages in {wall:.2f} s = {theirs:,.0f} msg/s;"
                f" digest's rate is {ours[sessions] / theirs:.2f} of it (target at 4: >= 0.6)"
            )
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
