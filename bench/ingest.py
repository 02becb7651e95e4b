"""Ingest speed and memory against a large history.

Builds histories of 10,000 and 1,000,000 synthetic papers, then times a
separate ``digest ingest`` process on a 1,000-paper listing (half new, half seen),
as a text dump and as a daily-papers JSON listing (with arXiv ids, authors and
upvotes), and reports its wall time and peak RSS; also ``digest --help`` start-up time.

Targets: <= 0.5 s and <= 200 MB for the ingest process, flat in the history's
size; <= 150 ms for ``digest --help``.

    python bench/ingest.py [--sizes 10000 1000000] [--formats text json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digest.listings.diff import diff_dump, identify
from digest.models import Link, Paper
from digest.store import open_store

from _common import digest_command, median_wall, run_measured

WORDS = [
    *"model learning neural data training language attention graph diffusion image text reasoning agent".split(),
    *"policy reward benchmark transformer vision robust scaling retrieval token memory sparse efficient".split(),
    *"generative latent signal causal federated quantum optimisation kernel bayesian contrastive".split(),
]
NOW = dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)
BATCH = 20_000


def title(n: int) -> str:
    rng = random.Random(n)
    return f"{' '.join(rng.choice(WORDS).capitalize() for _ in range(7))} {n}"


def abstract(n: int, words: int) -> str:
    rng = random.Random(-n)
    return f"Paper {n}. " + " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def build_history(url: str, size: int) -> None:
    with open_store(url, now=NOW) as store:
        for start in range(0, size, BATCH):
            papers = [
                Paper(
                    title(n),
                    abstract(n, 40),
                    rank=i + 1,
                    line=2 * i + 1,
                    links=(Link(f"https://github.com/lab/p{n}", "code"),),
                )
                for i, n in enumerate(range(start, min(size, start + BATCH)))
            ]
            with store.transaction(exclusive=True):
                diff = diff_dump(identify(papers), known_keys={}, known_fingerprints={})
                store.history.record_dump(
                    sha256=f"{start:064x}",
                    file_name=f"history-{start}.txt",
                    listed_on=None,
                    dump_date=dt.date(2026, 1, 1),
                    arrived_at=NOW,
                    ingested_at=NOW,
                    diff=diff,
                )


def write_dump(path: Path, size: int, *, fresh: int, seed: int) -> None:
    """1,000 papers: the even ones seen before (from the history), the odd ones new."""
    blocks = ["new", "Get trending papers in your email inbox!", "Subscribe", "Nov 21"]
    seen = iter(random.Random(seed).sample(range(size), 500))
    for i in range(1000):
        n = next(seen) if i % 2 == 0 else fresh + i
        blocks += [title(n), abstract(n, 180) + f" Code: https://github.com/lab/p{n}."]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def write_json(path: Path, size: int, *, fresh: int, seed: int) -> None:
    """The same shape as :func:`write_dump`, as a daily-papers JSON listing."""
    seen = iter(random.Random(seed).sample(range(size), 500))
    items = []
    for i in range(1000):
        n = next(seen) if i % 2 == 0 else fresh + i
        paper = {
            "id": f"{2400 + n // 100000 % 100:04d}.{n % 100000:05d}",
            "title": title(n),
            "summary": abstract(n, 180),
            "authors": [{"name": f"Author {n} {k}"} for k in range(6)],
            "upvotes": n % 97,
            "publishedAt": "2026-11-21T06:00:00.000Z",
            "githubRepo": f"https://github.com/lab/p{n}",
        }
        items.append({"paper": paper, "title": paper["title"], "numComments": 0})
    path.write_text(json.dumps(items), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", choices=["text", "json"], default=["text", "json"])
    parser.add_argument("--keep", type=Path, help="build the histories in DIR and keep them")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="digest-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    help_ms = median_wall([*digest_command(), "--help"], repeat=15) * 1000
    print(f"digest --help start-up: {help_ms:.0f} ms (median of 15; target <= 150 ms)")

    for size in args.sizes:
        folder = work / f"history-{size}"
        folder.mkdir(exist_ok=True)
        db = folder / "digest.db"
        if not db.exists():
            started = time.perf_counter()
            build_history(f"sqlite:///{db}", size)
            print(f"built a history of {size:,} papers in {time.perf_counter() - started:.1f} s")
        (folder / "inbox").mkdir(exist_ok=True)
        (folder / "schedule.yaml").write_text(
            "timezone: UTC\ninbox: inbox\ndatabase: sqlite:///digest.db\nsite: {url: 'https://x.org/'}\n"
        )
        for kind in args.formats:
            measure(folder, size, kind)
    if not args.keep:
        print(f"(work folder {work} can be removed)")


def measure(folder: Path, size: int, kind: str) -> None:
    runs = []
    for attempt in range(4):  # the first run warms the OS page cache; it is reported on its own
        # A fresh listing each time: 500 papers of the history, 500 it has never seen.
        dump = folder / f"{kind}-{attempt}.{'txt' if kind == 'text' else 'json'}"
        # Never-seen ids: above every id a kept history can hold from earlier runs.
        fresh = size + 10_000_000 + time.time_ns() // 1000 % 10**9 * 10 + attempt * 1000
        (write_dump if kind == "text" else write_json)(dump, size, fresh=fresh, seed=int(time.time()) + attempt)
        result = run_measured(
            [*digest_command(), "--config", str(folder / "schedule.yaml"), "ingest", "--json", str(dump)]
        )
        if result.returncode != 0:
            raise SystemExit(f"digest ingest failed: {result.stderr.strip()}")
        runs.append(result)
    report = json.loads(runs[0].stdout)
    cold, warm = runs[0], sorted(r.wall for r in runs[1:])
    print(
        f"history {size:>9,} papers, {kind:>4} listing of {report['papers']:,} papers ({report['new']} new):"
        f" {warm[1] * 1000:.0f} ms wall (median of 3 warm runs, best {warm[0] * 1000:.0f} ms;"
        f" first run {cold.wall * 1000:.0f} ms), peak RSS {max(r.peak_rss_mb for r in runs):.0f} MB"
        " (targets <= 500 ms, <= 200 MB)"
    )


if __name__ == "__main__":
    main()
