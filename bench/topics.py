"""Topic headings: how well the groups and their headings match hand topic labels, and what they cost.

Labels: ``../shared/eval/topic_labels.json`` (1-3 hand topic labels per paper of
dumps 000-002, the first the main one). Nothing is learned from the labels: every
figure is a test figure. Each dump is grouped as its digest would be when published
after the dumps before it: its headings are measured against the document
frequencies of the history then (every paper of the dumps so far). "digest" lines
hold only the papers new in that dump; "week" is every paper of the dumps at once,
as a weekly mail groups them.

Printed per line:

- ``cover``: the share of heading terms (each comma-separated term of every heading
  but "Other topics") used by at least 40% of the papers under that heading; a paper
  uses a term when its title or abstract holds it as whole words, in any case, its
  words joined by spaces or hyphens, with or without a plural "s"/"es";
- ``purity``: each group's most common main label, summed over the groups, over the
  papers ("Other topics" is a group like the others);
- ``nmi``: normalised mutual information between the groups and the main labels;
- ``groups`` (with "Other topics"), ``largest`` (the largest headed group's share
  of the papers) and ``other`` (the share in "Other topics");
- ``ms``: the time to group them (their history's document frequencies apart,
  printed on their own).

    python bench/topics.py [--labels FILE] [--dumps DIR] [--show]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest.listings.formats import parse_listing
from digest.listings.identity import title_key
from digest.models import Paper, Topic
from digest.ranking.topics import OTHER, digest_topics
from digest.ranking.words import document_frequencies, topic_text

from _common import ROOT

#: The shared folder beside the checkout (or beside the folder of worktrees).
SHARED = next((base / "shared" for base in ROOT.parents if (base / "shared" / "eval").is_dir()), ROOT.parent / "shared")
TODAY = dt.date(2026, 12, 1)
USED_BY = 0.4


def uses(term: str, text: str) -> bool:
    words = [re.escape(word) for word in term.casefold().split()]
    return re.search(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b", text.casefold()) is not None


def measure(
    name: str, papers: Sequence[Paper], history: Sequence[Paper], labels: dict[str, list[str]], show: bool
) -> dict[str, float]:
    start = time.perf_counter()
    frequencies = document_frequencies(topic_text(p.title, p.abstract) for p in history)
    df_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    groups: list[Topic] = digest_topics(papers, frequencies)
    ms = (time.perf_counter() - start) * 1000
    count = len(papers)
    main = [labels.get(title_key(paper.title), ["(unlabelled)"])[0] for paper in papers]
    assigned = [0] * count
    for number, group in enumerate(groups):
        for index in group.members:
            assigned[index] = number
    terms = covered = 0
    for group in groups:
        if group.label == OTHER:
            continue
        for term in re.sub(r" \(\d+\)$", "", group.label).split(", "):
            share = sum(uses(term, topic_text(papers[i].title, papers[i].abstract)) for i in group.members)
            terms += 1
            covered += share >= USED_BY * len(group.members)
    from sklearn.metrics import normalized_mutual_info_score

    purity = sum(Counter(main[i] for i in group.members).most_common(1)[0][1] for group in groups) / count
    nmi = normalized_mutual_info_score(main, assigned)
    largest = max((len(g.members) for g in groups if g.label != OTHER), default=0) / count
    other = sum(len(g.members) for g in groups if g.label == OTHER) / count
    cover = covered / terms if terms else 1.0
    print(
        f"{name:<12}{count:>7}{len(groups):>8}{f'{covered}/{terms}':>8}{cover:>7.2f}{purity:>8.2f}{nmi:>6.2f}"
        f"{largest:>9.2f}{other:>7.2f}{ms:>8.0f}{df_ms:>8.0f}"
    )
    if show:
        for group in groups:
            found = Counter(main[i] for i in group.members).most_common(3)
            print(f"    {group.label} ({len(group.members)}): " + ", ".join(f"{label} {n}" for label, n in found))
    return {"cover": cover, "purity": purity, "nmi": nmi, "largest": largest, "other": other, "groups": len(groups)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=SHARED / "eval" / "topic_labels.json")
    parser.add_argument("--dumps", type=Path, default=ROOT / "examples" / "dumps", help="the labelled dumps, in order")
    parser.add_argument("--show", action="store_true", help="print each group's heading and main labels")
    args = parser.parse_args(argv)
    labels = {title_key(entry["title"]): entry["labels"] for entry in json.loads(args.labels.read_text())}
    paths = sorted(path for path in args.dumps.iterdir() if path.suffix in (".txt", ".json", ".xml"))
    load = os.getloadavg()[0]
    print(f"topic headings against {args.labels.name} ({len(labels)} labelled papers); load {load:.2f}")
    print(
        f"{'':<12}{'papers':>7}{'groups':>8}{'terms':>8}{'cover':>7}{'purity':>8}{'nmi':>6}"
        f"{'largest':>9}{'other':>7}{'ms':>8}{'df ms':>8}"
    )
    seen: set[str] = set()
    history: list[Paper] = []
    results = []
    for path in paths:
        dump = parse_listing(path.read_bytes(), today=TODAY).papers
        new = [paper for paper in dump if title_key(paper.title) not in seen]
        seen.update(title_key(paper.title) for paper in new)
        history.extend(new)
        results.append(measure(f"dump {path.name[:3]}", dump, history, labels, args.show))
        if len(new) != len(dump):
            measure(f"digest {path.name[:3]}", new, history, labels, args.show)
    week = measure("week", history, history, labels, args.show)
    print(
        "goals: cover >= 0.85, purity >= 0.50, nmi >= 0.38, at most 12 groups for ~100 papers, largest <= 0.30;"
        f" dumps' mean: cover {sum(r['cover'] for r in results) / len(results):.2f},"
        f" purity {sum(r['purity'] for r in results) / len(results):.2f},"
        f" nmi {sum(r['nmi'] for r in results) / len(results):.2f}; week: purity {week['purity']:.2f},"
        f" nmi {week['nmi']:.2f}"
    )


if __name__ == "__main__":
    main()
