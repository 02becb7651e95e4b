"""Followed authors in the send loop: what indexing a digest's authors costs once, and what the follows step
adds to ranking one reader (:class:`digest.ranking.follows.AuthorIndex`, :func:`followed_first`).

A digest of ``--papers`` papers with ``--authors`` authors each (names drawn from a pool, some written
with an initial, some with accents), and ``--readers`` readers who follow 0, 3 and 20 authors among
``--pool`` names. Printed: the index's build time (once per mail process), and the time per reader of the
followed papers' look-up and reordering, on top of the ranking (``bench/rank.py``'s "rank one reader").

    python bench/follows.py [--papers 2000] [--authors 8] [--readers 2000] [--pool 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

import numpy as np

from digest.models import PaperDetails, StoredPaper
from digest.ranking.follows import AuthorIndex, followed_first
from digest.ranking.rank import Ranking

GIVEN = ["Ashish", "Anna", "Noam", "Łukasz", "Jean-Pierre", "Yann", "Geoffrey", "Fei-Fei", "José", "Müge", "Иван"]
FAMILY = ["Vaswani", "Shazeer", "Kaiser", "Serre", "LeCun", "Hinton", "Li", "García", "van der Berg", "Петров"]


def author(rng: random.Random, number: int) -> str:
    given, family = rng.choice(GIVEN), f"{rng.choice(FAMILY)}{number % 500 or ''}"
    return f"{given[0]}. {family}" if rng.random() < 0.3 else f"{given} {family}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--authors", type=int, default=8)
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--pool", type=int, default=1000, help="distinct names the readers follow")
    args = parser.parse_args()
    rng = random.Random(7)
    day = dt.date(2026, 11, 22)
    at = dt.datetime(2026, 11, 22, 6, tzinfo=dt.UTC)
    papers = [
        StoredPaper(
            id=n,
            title=f"Paper {n}",
            abstract="",
            links=(),
            first_dump_id=1,
            first_rank=n,
            first_seen_on=day,
            first_seen_at=at,
            details=PaperDetails(authors=tuple(author(rng, rng.randrange(5000)) for _ in range(args.authors))),
        )
        for n in range(args.papers)
    ]
    start = time.perf_counter()
    index = AuthorIndex(papers)
    built = time.perf_counter() - start
    print(f"index of {args.papers:,} papers x {args.authors} authors: {built * 1000:.1f} ms (once per mail process)")
    ranking = Ranking(np.arange(args.papers), {})
    pool = [author(rng, rng.randrange(5000)) for _ in range(args.pool)]  # the names readers follow
    for follows in (0, 3, 20):
        readers = [tuple(rng.sample(pool, follows)) for _ in range(args.readers)]
        times = []
        found = 0
        for names in readers:
            start = time.perf_counter()
            if names:
                followed = index.followed(names)
                found += len(followed)
                followed_first(ranking, followed)
            times.append(time.perf_counter() - start)
        median, mean = statistics.median(times) * 1e6, statistics.fmean(times) * 1e6
        print(
            f"follows {follows:>2}: {median:6.1f} us per reader (median; mean {mean:.1f} with the first look-ups of"
            f" each name), {found / len(readers):.1f} papers found each"
        )


if __name__ == "__main__":
    main()
