"""Ranking: quality on hand-labelled dumps, and the cost of preparing and scoring a digest.

Quality (``../shared/eval/topic_labels.json``: 1-3 hand topic labels per paper of
dumps 000-002). For each topic with at least 5 papers in dump 000 and 3 new ones
after it, a reader who liked the first 5 papers of that topic in dump 000 gets
the new papers of dumps 001 and 002 ranked. Printed: precision of the top
min(10, relevant) per topic and the mean, for the listing's order, interest
terms only (the words a reader would type for that topic), the reader's votes
(digest's model), both together and, for comparison, a linear SVM trained as arxiv-sanity-lite
does on the same features. Then, as a steadier figure than one reader per topic, the
same for 20 readers per topic whose 5 likes are drawn at random (seeded) among the
topic's papers, likes from 000 ranking 001-002 and the other way round.

Cost: preparing a digest of 1,000 new papers against a history of 1,000,000
(SQLite), in a child process for its peak RSS; making the rows of 2,000
distinct readers (2 interest terms and 5 likes each: what a publish does for
every reader, or a vote for one); and ranking one of those readers in the send
loop, from the rows kept (what every message of a send costs), in batches of 64 as
a send ranks a claim's readers, and one by one.

    python bench/rank.py [--history 1000000] [--labels ../shared/eval/topic_labels.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest.listings.formats import parse_listing
from digest.listings.identity import title_key
from digest.models import Digest, Paper, Profile, StoredPaper, VotedPaper
from digest.ranking.features import Features, prepare_papers
from digest.ranking.kept import Ranker
from digest.ranking.rank import IDF_SAMPLE, score
from digest.ranking.rows import DigestRows, paper_text

from _common import ROOT, run_measured

SHARED = ROOT.parent / "shared"
#: What a reader would naturally type for each topic of the labels.
INTEREST_TERMS = {
    "alignment-rl": ("alignment", "rlhf", "preference optimization", "reward model"),
    "evaluation": ("benchmark", "evaluation"),
    "image-gen": ("diffusion", "image generation"),
    "science": ("physics", "biology", "chemistry", "astronomy"),
    "llm-training": ("pretraining", "fine-tuning", "language model"),
    "llm-reasoning": ("reasoning", "chain-of-thought", "math"),
    "efficiency": ("efficient", "quantization", "pruning", "distillation"),
    "multimodal": ("multimodal", "vision-language"),
    "robotics": ("robotics", "robot", "control"),
    "vision": ("computer vision", "image", "segmentation"),
    "retrieval-rag": ("retrieval", "rag", "search"),
    "code": ("code generation", "program", "software"),
    "speech-audio": ("speech", "audio"),
}
LIKED = 5
#: Readers drawn per topic for the held-back figures (their likes drawn at random, seeded).
DRAWS = 20
TODAY = dt.date(2026, 12, 1)


def quality(labels_path: Path) -> None:
    labels = {title_key(entry["title"]): entry["labels"] for entry in json.loads(labels_path.read_text())}
    dumps = [parse_listing(path.read_bytes(), today=TODAY) for path in sorted((SHARED / "dumps").glob("*.txt"))]
    train = dumps[0].papers
    seen = {title_key(paper.title) for paper in train}
    test = []
    for dump in dumps[1:]:
        for paper in dump.papers:
            key = title_key(paper.title)
            if key not in seen:
                seen.add(key)
                test.append(paper)
    missing = [paper.title for paper in (*train, *test) if title_key(paper.title) not in labels]
    if missing:
        print(f"warning: {len(missing)} papers have no labels, e.g. {missing[0]!r}")
    features = prepare_papers(stored(test), [(p.title, p.abstract) for p in train])
    kept = features.digest_rows(stored(test))

    def ranked(profile: Profile) -> list[int]:
        features.add_rows(kept, kept.missing([profile]))
        return list(score(kept, profile).order)

    in_train = Counter(label for paper in train for label in labels.get(title_key(paper.title), ()))
    print(f"quality: {len(train)} papers in dump 000 (training), {len(test)} new papers in 001-002 (test)")
    print(f"{'topic':<16}{'relevant':>9}{'listing':>9}{'terms':>9}{'votes':>9}{'both':>9}{'svm':>9}")
    rows = []
    for topic in sorted(INTEREST_TERMS):
        relevant = {i for i, paper in enumerate(test) if topic in labels.get(title_key(paper.title), ())}
        if in_train[topic] < LIKED or len(relevant) < 3:
            continue
        liked = [p for p in train if topic in labels.get(title_key(p.title), ())][:LIKED]
        votes = Profile(likes=tuple(VotedPaper(p.title, p.abstract) for p in liked))
        cut = min(10, len(relevant))

        def precision(order: list[int], relevant: set[int] = relevant, cut: int = cut) -> float:
            return sum(1 for index in order[:cut] if index in relevant) / cut

        listing = precision(list(range(len(test))))
        terms = precision(ranked(Profile(interests=INTEREST_TERMS[topic])))
        model = precision(ranked(votes))
        both = precision(ranked(Profile(interests=INTEREST_TERMS[topic], likes=votes.likes)))
        svm = precision(_svm_order(features, train, liked, test))
        rows.append((listing, terms, model, both, svm))
        print(f"{topic:<16}{len(relevant):>9}" + "".join(f"{v:>9.2f}" for v in rows[-1]))
    means = [statistics.mean(column) for column in zip(*rows, strict=True)]
    print(f"{'mean':<16}{'':>9}" + "".join(f"{value:>9.2f}" for value in means))
    print(f"held back: mean (lowest topic) over {DRAWS} draws of {LIKED} likes per topic; votes | both | terms")
    for name, liked_from, ranked_on in (("000 -> 001-002", train, test), ("001-002 -> 000", test, train)):
        print(f"  {name}: " + " | ".join(f"{m:.3f} ({low:.2f})" for m, low in drawn(liked_from, ranked_on, labels)))


def drawn(
    liked_from: Sequence[Paper], ranked_on: Sequence[Paper], labels: dict[str, list[str]]
) -> list[tuple[float, float]]:
    """P@min(10, relevant) of the votes, both and the terms alone, for readers whose 5 likes are drawn at random
    (seeded) among a topic's papers of ``liked_from``, ranking ``ranked_on``: the mean over topics and the
    lowest topic's mean."""
    import random

    features = prepare_papers(stored(ranked_on), [(p.title, p.abstract) for p in liked_from])
    kept = features.digest_rows(stored(ranked_on))
    by_topic: dict[str, list[list[float]]] = {}
    for topic in sorted(INTEREST_TERMS):
        pool = [p for p in liked_from if topic in labels.get(title_key(p.title), ())]
        relevant = {i for i, p in enumerate(ranked_on) if topic in labels.get(title_key(p.title), ())}
        if len(pool) < LIKED or len(relevant) < 3:
            continue
        rng = random.Random(f"{topic}:{len(liked_from)}")
        cut = min(10, len(relevant))
        for _ in range(DRAWS):
            likes = tuple(VotedPaper(p.title, p.abstract) for p in rng.sample(pool, LIKED))
            found = []
            terms = INTEREST_TERMS[topic]
            for profile in (Profile(likes=likes), Profile(interests=terms, likes=likes), Profile(interests=terms)):
                features.add_rows(kept, kept.missing([profile]))
                found.append(sum(1 for i in score(kept, profile).order[:cut] if i in relevant) / cut)
            by_topic.setdefault(topic, []).append(found)
    means = [[statistics.mean(column) for column in zip(*draws, strict=True)] for draws in by_topic.values()]
    return [(statistics.mean(column), min(column)) for column in zip(*means, strict=True)]


def stored(papers: Sequence[Paper]) -> list[StoredPaper]:
    """Listed papers as the history would hold them (each its own id)."""
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return [
        StoredPaper(n + 1, p.title, p.abstract, p.links, 1, p.rank, TODAY, now, p.details) for n, p in enumerate(papers)
    ]


def _svm_order(features: Features, train: Sequence[Paper], liked: Sequence[Paper], test: Sequence[Paper]) -> list[int]:
    """arxiv-sanity-lite's model on the same features: a linear SVM, likes against the rest of dump 000."""
    import numpy as np
    from sklearn.svm import LinearSVC

    liked_keys = {title_key(p.title) for p in liked}
    negatives = [p for p in train if title_key(p.title) not in liked_keys]
    rows = features.vectors([paper_text(p.title, p.abstract) for p in (*liked, *negatives)])
    y = np.array([1] * len(liked) + [0] * len(negatives))
    model = LinearSVC(class_weight="balanced", C=0.1, max_iter=10000, tol=1e-6).fit(rows, y)
    scores = model.decision_function(features.vectors([paper_text(p.title, p.abstract) for p in test]))
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def cost(history: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/history.db"
        started = time.perf_counter()
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ingest import build_history

        build_history(url, history)
        print(f"cost: built a history of {history:,} papers in {time.perf_counter() - started:.0f} s")
        child = run_measured([sys.executable, __file__, "--child", url])
        if child.returncode:
            print(child.stderr)
            raise SystemExit("the child failed")
        print(child.stdout.rstrip())
        print(f"  peak RSS of the process that prepared and scored: {child.peak_rss_mb:.0f} MB")


def synthetic_papers(count: int, seed: int) -> list[tuple[str, str]]:
    """Papers made of sentences of the real dumps' abstracts, shuffled: a realistic vocabulary at any count."""
    import random

    from digest.ranking.summarise import sentences

    real = [
        paper
        for path in sorted((SHARED / "dumps").glob("*.txt"))
        for paper in parse_listing(path.read_bytes(), today=TODAY).papers
    ]
    pool = [sentence for paper in real for sentence in sentences(paper.abstract)]
    titles = [paper.title for paper in real]
    rng = random.Random(seed)
    return [
        (f"{rng.choice(titles)} {n}", " ".join(rng.choice(pool) for _ in range(rng.randint(5, 9))))
        for n in range(count)
    ]


def child(url: str) -> None:
    import random

    from digest.store import open_store

    rng = random.Random(7)
    new = synthetic_papers(1000, seed=1)
    papers = [
        StoredPaper(n + 1, title, abstract, (), 1, n + 1, TODAY, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        for n, (title, abstract) in enumerate(new)
    ]
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    with open_store(url, now=now) as store:
        sample = store.profiles.recent_texts(IDF_SAMPLE)
    features = prepare_papers(papers, sample)
    prepared = time.perf_counter() - started
    print(f"  prepare a digest of 1,000 new papers (IDF on {len(sample):,} recent): {prepared * 1000:.0f} ms")
    profiles = [
        Profile(
            interests=tuple(rng.sample(INTEREST_TERMS[rng.choice(sorted(INTEREST_TERMS))], 2)),
            likes=tuple(VotedPaper(*new[rng.randrange(1000)], paper_id=n * 10 + k) for k in range(5)),
        )
        for n in range(2000)
    ]
    rows = features.digest_rows(papers)
    started = time.perf_counter()
    features.add_rows(rows, rows.missing(profiles))  # as a publish does, for every reader at once
    for term in sorted({term for profile in profiles for term in profile.interests}):
        rows.matches(term)  # (which papers name each term outright: made at publish too, see keep_digest)
    made = (time.perf_counter() - started) / len(profiles)
    print(f"  make one reader's rows (5 liked papers and their interests; at publish, or a vote): {made * 1000:.2f} ms")
    ranker = Ranker(bench_digest(papers), rows, scope=None, features=features)
    started = time.perf_counter()
    for start in range(0, len(profiles), 64):  # a batch's rows looked up at once, then each reader alone
        batch = profiles[start : start + 64]
        ranker.prepare(None, batch)
        for profile in batch:
            ranker.rank(profile, explain=20)
    alone = (time.perf_counter() - started) / len(profiles)
    started = time.perf_counter()
    together = []
    for start in range(0, len(profiles), 64):  # as a send does: a claim's readers ranked together
        batch = profiles[start : start + 64]
        ranker.prepare(None, batch)
        together += ranker.rank_many(batch, [20] * len(batch))
    each = (time.perf_counter() - started) / len(profiles)
    print(
        "  rank one reader in the send loop (2 interest terms, 5 likes, distinct) at 1,000 new papers:"
        f" {each * 1000:.3f} ms in batches of 64 as a send ranks them ({alone * 1000:.3f} ms one by one)"
    )
    check = DigestRows.of(papers, features.history_scores)
    features.add_rows(check, check.missing(profiles[:20]))
    assert all(score(check, p).order == ranker.rank(p).order for p in profiles[:20]), "the kept rows rank differently"
    assert [r.order for r in together[:64]] == [ranker.rank(p, explain=20).order for p in profiles[:64]]


def bench_digest(papers: Sequence[StoredPaper]) -> Digest:
    day = TODAY
    return Digest("bench", day, tuple(papers), 0, (day,), 1, 1, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--labels", type=Path, default=SHARED / "eval" / "topic_labels.json")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    quality(args.labels)
    if not args.skip_cost:
        cost(args.history)


if __name__ == "__main__":
    main()
