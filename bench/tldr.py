"""TL;DRs: how often the sentence chosen states the paper's idea, measured on hand-labelled abstracts.

``bench/data/tldr_labels.json`` holds 108 abstracts of the bundled dumps, split
into sentences, each sentence marked by hand with what it states: ``problem``
(background, motivation, what is missing), ``task`` (what the paper sets out to
do), ``idea`` (what it proposes or contributes: the method, the key insight, the
central claim), ``result`` (what experiments or proofs show), or nothing (method
details, code links). A sentence may carry two marks. The first half was used to
develop the selector ("dev"), the second half only to test it ("test").

Printed, per half and for all: the share of abstracts whose TL;DR holds an idea
sentence (of those that have one), an idea or a task sentence (of those that have
either), and only background (every sentence chosen marked ``problem`` alone);
the longest and mean TL;DR in characters; the time per paper. For comparison: the
first sentence, and the best single sentence (an idea sentence whenever there is one).

    python bench/tldr.py [--labels bench/data/tldr_labels.json] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest.ranking.summarise import TLDR_CHARS, choose, shorten

from _common import ROOT

Chooser = Callable[[Sequence[str], str], tuple[int, ...]]


def figures(abstracts: Sequence[dict], chooser: Chooser) -> dict[str, float]:
    idea = task = background = with_idea = with_either = 0
    lengths = []
    for abstract in abstracts:
        texts = [sentence["text"] for sentence in abstract["sentences"]]
        marks = [set(sentence["labels"]) for sentence in abstract["sentences"]]
        chosen = chooser(texts, abstract["title"])
        held = set().union(*(marks[i] for i in chosen)) if chosen else set()
        lengths.append(len(shorten(" ".join(texts[i] for i in chosen), TLDR_CHARS)))
        if any("idea" in mark for mark in marks):
            with_idea += 1
            idea += "idea" in held
        if any(mark & {"idea", "task"} for mark in marks):
            with_either += 1
            task += bool(held & {"idea", "task"})
        background += bool(chosen) and all(marks[i] == {"problem"} for i in chosen)
    return {
        "idea": idea / max(1, with_idea),
        "idea_or_task": task / max(1, with_either),
        "background": background / max(1, len(abstracts)),
        "longest": max(lengths, default=0),
        "mean": sum(lengths) / max(1, len(lengths)),
    }


def first_sentence(texts: Sequence[str], title: str) -> tuple[int, ...]:
    return (0,) if texts else ()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=ROOT / "bench" / "data" / "tldr_labels.json")
    parser.add_argument("--show", action="store_true", help="print each abstract's TL;DR and its marks")
    args = parser.parse_args(argv)
    abstracts = json.loads(args.labels.read_text(encoding="utf-8"))
    half = len(abstracts) // 2
    print(f"TL;DRs of {len(abstracts)} hand-labelled abstracts; load {os.getloadavg()[0]:.2f}")
    print(f"{'':<22}{'abstracts':>10}{'idea':>7}{'idea|task':>11}{'background':>12}{'longest':>9}{'mean':>7}")
    best: Chooser = lambda texts, title: next(  # noqa: E731
        ((i,) for i, s in enumerate(abstracts_by_title[title]) if "idea" in s["labels"]), (0,)
    )
    abstracts_by_title = {a["title"]: a["sentences"] for a in abstracts}
    for name, chooser in (("TL;DR", choose), ("first sentence", first_sentence), ("best single sentence", best)):
        for part, chunk in (("dev", abstracts[:half]), ("test", abstracts[half:]), ("all", abstracts)):
            if name != "TL;DR" and part != "all":
                continue
            f = figures(chunk, chooser)
            print(
                f"{f'{name} ({part})':<22}{len(chunk):>10}{f['idea']:>7.0%}{f['idea_or_task']:>11.0%}"
                f"{f['background']:>12.0%}{f['longest']:>9}{f['mean']:>7.0f}"
            )
    from digest.ranking.summarise import tldr

    texts = [(a["title"], " ".join(s["text"] for s in a["sentences"])) for a in abstracts]
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for title, text in texts:
            tldr(text, title)
    per_paper = (time.perf_counter() - start) / (rounds * len(texts))
    print(f"time per paper: {per_paper * 1e6:.0f} us (the whole abstract: split, scored, cut)")
    print("goals: idea >= 55%, idea or task >= 80%, background only <= 10%, at most 200 characters")
    if args.show:
        for abstract in abstracts:
            texts_ = [s["text"] for s in abstract["sentences"]]
            chosen = choose(texts_, abstract["title"])
            marks = "+".join(",".join(abstract["sentences"][i]["labels"]) or "-" for i in chosen)
            print(f"\n{abstract['title']}\n  [{marks}] {shorten(' '.join(texts_[i] for i in chosen), TLDR_CHARS)}")


if __name__ == "__main__":
    main()
