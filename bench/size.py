"""Large listings: a 20,000-paper listing published and mailed by one ``digest run``; a 200,000-paper one refused.

Writes a daily-papers JSON listing of N papers (arXiv ids, five authors, an
abstract of about 1,200 characters, a code link for every tenth), then runs
``digest run`` as its own process over a fresh SQLite project with a few
subscribers (half of them with interests and liked papers) and the outbox as
transport. Reports the wall time and peak RSS of that process, the size of the
largest mail, and of the archive's pages. Target: 20,000 papers published and
mailed in <= 60 s with peak RSS <= 400 MB. Listings over the per-listing limit
are rejected, set aside with their reason, and cost little.

    python bench/size.py [--papers 20000 200000] [--subscribers 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import digest_command, run_measured

SECRET = "benchmark-secret-key-0123456789abcdefghij"
SYLLABLES = (
    "ba be bi bo ca ce ci co da de di do fa fe fi ga ge la le li lo ma me mi mo na ne ni no ra re ri ro sa se si so"
    " ta te ti to va ve vi"
).split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pseudo-words, like a field's vocabulary: drawn by rank with Zipf's law (a few common, most rare)."""
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 5))) for _ in range(size)]


def listing(count: int) -> bytes:
    """A daily-papers JSON listing of ``count`` papers, about 1,200 characters of abstract each."""
    rng = random.Random(count)
    words = vocabulary(8000, rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    items = []
    for n in range(count):
        drawn = rng.choices(words, weights, k=180)
        items.append(
            {
                "id": f"{2400 + n // 100_000}.{n % 100_000:05d}",
                "title": " ".join(word.capitalize() for word in rng.choices(words, weights, k=9)) + f" {n}",
                "summary": "We propose "
                + " ".join(drawn)
                + "."
                + f" Code: https://github.com/lab/p{n}." * (n % 10 == 0),
                "authors": [{"name": f"Author {rng.randrange(10**6)}"} for _ in range(5)],
                "upvotes": rng.randrange(100),
                "publishedAt": "2026-11-21T06:00:00Z",
            }
        )
    return json.dumps(items).encode()


def run(*args: str, cwd: Path) -> None:
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET}
    result = run_measured([*digest_command(), "--config", str(cwd / "schedule.yaml"), *args], env=env)
    if result.returncode not in (0, 3):
        raise SystemExit(f"digest {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")


def project(folder: Path, subscribers: int) -> None:
    (folder / "inbox").mkdir(parents=True)
    (folder / "schedule.yaml").write_text(
        "timezone: UTC\ninbox: inbox\ninbox_settle: 0s\ndatabase: sqlite:///digest.db\n"
        "site: {url: 'https://digest.example.org/', dir: site}\ndelivery: {outbox: outbox, rate: 0}\n"
    )
    for n in range(subscribers):
        words = vocabulary(40, random.Random(n))
        extra = ["--interests", f"{words[0]}, {words[1]}"] if n % 2 else []
        run("subscribers", "add", f"reader{n:03d}@example.org", *extra, cwd=folder)


def measure(folder: Path, papers: int) -> None:
    data = listing(papers)
    (folder / "inbox" / "listing.json").write_bytes(data)
    env = {**os.environ, "DIGEST_SECRET_KEY": SECRET}
    result = run_measured([*digest_command(), "--config", str(folder / "schedule.yaml"), "run"], env=env)
    mails = sorted((folder / "outbox" / "new").glob("*.eml")) if (folder / "outbox" / "new").exists() else []
    largest = max((mail.stat().st_size for mail in mails), default=0)
    pages = list((folder / "site" / "archive").glob("*.html")) if (folder / "site" / "archive").exists() else []
    biggest_page = max((page.stat().st_size for page in pages), default=0)
    print(
        f"{papers:,} papers ({len(data) / 1e6:.0f} MB listing): digest run exit {result.returncode} in"
        f" {result.wall:.1f} s, peak RSS {result.peak_rss_mb:.0f} MB; {len(mails)} mails, the largest"
        f" {largest / 1000:.0f} KB; {len(pages)} archive pages, the largest {biggest_page / 1e6:.2f} MB"
    )
    for line in result.stderr.strip().splitlines()[:3]:
        print(f"  stderr: {line[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--subscribers", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-size-bench-"))
    try:
        for count in args.papers:
            folder = work / f"n{count}"
            project(folder, args.subscribers)
            measure(folder, count)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
