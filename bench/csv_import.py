"""Subscriber CSV import speed: 100,000 rows with profiles, on PostgreSQL (and SQLite).

Each row has an address, two interest terms, a frequency and three liked papers
(an arXiv id the history knows, a title it knows, a title it does not), as
``digest subscribers export`` writes them. The history holds the example dumps
and a daily-papers listing (so that ids and titles resolve). ``digest subscribers
import`` runs as its own process; reports its wall time, rows per second and peak
RSS, then imports the same file again (every address known: all updates).
Target: 100,000 rows in <= 60 s on PostgreSQL.

    python bench/csv_import.py [--rows 100000] [--postgres postgresql://postgres@127.0.0.1:5432/test] [--sqlite]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, digest_command, run_measured

TERMS = "retrieval speech audio diffusion reasoning alignment robotics agents graphs vision video privacy".split()


def write_csv(path: Path, rows: int) -> None:
    listing = ROOT / "tests" / "data" / "listings" / "daily_papers_flat.json"
    import json

    known = [item for item in json.loads(listing.read_text())["papers"] if item.get("title")]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["email", "status", "interests", "frequency", "likes", "dislikes"])
        for n in range(rows):
            paper = known[n % len(known)]
            likes = "\n".join(
                [f"arXiv:{paper['id']}", known[(n + 1) % len(known)]["title"], f"A Paper Nobody Lists {n}"]
            )
            writer.writerow(
                [
                    f"reader{n:06d}@example.org",
                    "active",
                    f"{TERMS[n % len(TERMS)]}, {TERMS[(n * 5 + 1) % len(TERMS)]}",
                    "weekly" if n % 7 == 0 else "daily",
                    likes,
                    "",
                ]
            )


def project(folder: Path, database: str) -> Path:
    (folder / "inbox").mkdir(parents=True)
    config = folder / "schedule.yaml"
    config.write_text(
        f"timezone: UTC\ninbox: inbox\ninbox_settle: 0s\ndatabase: '{database}'\n"
        "site: {url: 'https://digest.example.org/', dir: site}\n"
    )
    dumps = [
        *sorted((ROOT / "examples" / "dumps").glob("*.txt")),
        ROOT / "tests" / "data" / "listings" / "daily_papers_flat.json",
    ]
    result = run_measured([*digest_command(), "--config", str(config), "ingest", *map(str, dumps)])
    if result.returncode != 0:
        raise SystemExit(f"ingest failed: {result.stderr}")
    return config


def measure(label: str, config: Path, data: Path, rows: int) -> None:
    for attempt in ("new addresses", "again (all known)"):
        result = run_measured([*digest_command(), "--config", str(config), "subscribers", "import", str(data)])
        if result.returncode != 0:
            raise SystemExit(f"import failed ({result.returncode}): {result.stderr[-500:]}")
        print(
            f"{label}, {rows:,} rows with profiles, {attempt}: {result.wall:.1f} s = {rows / result.wall:,.0f} rows/s;"
            f" peak RSS {result.peak_rss_mb:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("DIGEST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--sqlite", action="store_true", help="also import into SQLite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-csv-bench-"))
    data = work / "readers.csv"
    write_csv(data, args.rows)
    try:
        if args.sqlite:
            measure("SQLite", project(work / "sqlite", "sqlite:///digest.db"), data, args.rows)
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in args.postgres else "?"
            database = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
            measure("PostgreSQL", project(work / "pg", database), data, args.rows)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
