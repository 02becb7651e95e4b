"""A reader's personal feed under load: conditional GETs and unconditional repeats, against the static feed.

Starts ``digest serve`` on a loopback port over the three example dumps' digests
and one reader with interests and liked papers, then asks for the reader's
``/feed/TOKEN`` from this process over keep-alive connections (httpx): the first
answer (built), conditional GETs with its ETag (304: nothing is built) one after
another, and unconditional repeats from 4 threads (the built feed is kept). The
static ``/feed.xml`` is loaded the same way for comparison. Targets: a conditional
GET <= 5 ms, an unconditional repeat >= 500 requests/s.

    python bench/personal_feed.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digest.config import load_config
from digest.store import open_store
from digest.tokens import make_token, secret_key

from _common import digest_command, free_port, publish_examples, serving

SECRET = "benchmark-secret-key-0123456789abcdefghij"
LIKED = "PROP: Pre-training with Representative Words Prediction for Ad-hoc Retrieval"


def prepare(folder: Path, port: int) -> str:
    """A published project and one reader with a profile; the path of their personal feed."""
    now = dt.datetime.now(dt.UTC)
    config = load_config(publish_examples(folder, port, now), {})
    with open_store(config.database, now=now) as store:
        reader, _ = store.subscribers.add("reader@example.org", status="active", now=now)
        store.profiles.update(reader.id, interests=("retrieval", "speech"))
        identity = store.profiles.feed_identity(reader.id)
        assert identity is not None
    liked = subprocess.run(
        [
            *digest_command(),
            "--config",
            str(folder / "schedule.yaml"),
            "subscribers",
            "like",
            "reader@example.org",
            LIKED,
        ],
        capture_output=True,
        text=True,
    )
    if liked.returncode != 0:
        raise SystemExit(liked.stderr)
    return f"/feed/{make_token(secret_key(value=SECRET), 'feed', reader.id, identity)}"


def latencies(client: httpx.Client, url: str, count: int, headers: dict[str, str], status: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(url, headers=headers)
        times.append(time.perf_counter() - start)
        if answer.status_code != status:
            raise SystemExit(f"{url}: {answer.status_code}, expected {status}")
    return times


def rate(url: str, count: int, threads: int = 4) -> float:
    def worker(share: int) -> None:
        with httpx.Client() as client:
            for _ in range(share):
                if client.get(url).status_code != 200:
                    raise SystemExit(f"{url}: not 200")

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, [count // threads] * threads))
    return (count // threads * threads) / (time.perf_counter() - start)


def ms(values: list[float], quantile: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * quantile))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-feed-bench-"))
    port = free_port()
    path = prepare(work, port)
    with serving(work, port, SECRET) as base:
        with httpx.Client() as client:
            start = time.perf_counter()
            first = client.get(base + path)
            built = time.perf_counter() - start
            etag = first.headers["etag"]
            print(f"personal feed, first answer (built): {built * 1000:.0f} ms, {len(first.content) / 1000:.0f} KB")
            conditional = latencies(client, base + path, args.requests, {"if-none-match": etag}, 304)
            print(
                f"personal feed, conditional GET (304): median {statistics.median(conditional) * 1000:.2f} ms,"
                f" p99 {ms(conditional, 0.99):.2f} ms over {args.requests} requests (target <= 5 ms)"
            )
        print(
            f"personal feed, unconditional repeats, 4 threads: {rate(base + path, args.requests):,.0f} requests/s"
            " (target >= 500)"
        )
        print(f"static /feed.xml, unconditional, 4 threads: {rate(base + '/feed.xml', args.requests):,.0f} requests/s")


if __name__ == "__main__":
    main()
