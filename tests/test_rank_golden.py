"""Readers' orders and reasons on the bundled dumps, held as golden files (tests/data/ranking/).

The three example dumps are published one by one, oldest first (002 is dated Mar 11, 000 Mar 12,
001 Mar 14): three digests. Readers vote for papers of the first digest, and each later digest is
ranked for them right after it is published, as a run publishes and sends: whatever the ranking's
internals, a reader's order and reasons stay as they are. ``DIGEST_UPDATE_GOLDEN=1`` rewrites the
files after an intended change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from digest.config import load_config
from digest.listings.formats import parse_listing
from digest.mail.mailer import mailer_for
from digest.mail.outbox import OutboxTransport
from digest.models import Digest
from digest.store import open_store

from conftest import EXAMPLE_DUMPS, NOW, Project
from golden import assert_golden

GOLDEN = Path(__file__).parent / "data" / "ranking"
BY_DATE = [EXAMPLE_DUMPS[2], EXAMPLE_DUMPS[0], EXAMPLE_DUMPS[1]]  # the order digest publishes them in


def titles(dump: Path) -> list[str]:
    return [paper.title for paper in parse_listing(dump.read_bytes(), today=NOW.date()).papers]


FIRST = titles(BY_DATE[0])  # the first digest's papers: every one is new
#: Readers whose votes are papers of the first digest (and one kept with its own text), ranked on the later ones.
READERS: dict[str, dict[str, object]] = {
    "no-profile": {},
    "interests": {"interests": "diffusion, reinforcement learning, bayesian"},
    "likes": {"likes": [FIRST[4], FIRST[10], FIRST[11], FIRST[26], FIRST[52]]},
    "likes-dislikes-interests": {
        "interests": "language model, reasoning",
        "likes": [FIRST[6], FIRST[18], FIRST[31], "Chain of thought prompting elicits reasoning in language models"],
        "dislikes": [FIRST[2], FIRST[8], FIRST[43]],
    },
    "filtered": {
        "include": "diffusion, likelihood, preference",
        "interests": "alignment",
        "likes": [FIRST[10], FIRST[12]],
    },
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("golden") / "project", "sqlite:///digest.db")
    project.inbox.mkdir(parents=True)
    project.write_config()
    return project


@pytest.fixture(scope="module")
def rankings(project: Project) -> dict[str, dict[str, object]]:
    """Each reader's ranking of each digest after the first, made when that digest was published."""
    found: dict[str, dict[str, object]] = {reader: {} for reader in READERS}
    for position, dump in enumerate(BY_DATE):
        project.drop(dump)
        assert project.run("ingest").code == 0
        assert project.run("publish").code == 0
        if position == 0:
            add_readers(project)
            continue
        config = load_config(project.config, project.environ)
        with open_store(config.database, now=NOW) as store:
            digest = store.digests.get()
        assert digest is not None
        for reader in READERS:
            found[reader][digest.slug] = ranked(project, f"{reader}@example.org", digest)
    return found


def add_readers(project: Project) -> None:
    for name, profile in READERS.items():
        email = f"{name}@example.org"
        options = [f"--{key}={profile[key]}" for key in ("interests", "include") if key in profile]
        assert project.run("subscribers", "add", email, *options).code == 0
        for kind in ("likes", "dislikes"):
            papers = profile.get(kind)
            if papers:
                assert isinstance(papers, list)
                result = project.run("subscribers", kind.removesuffix("s"), email, *papers)
                assert result.code == 0, result.stderr


def ranked(project: Project, email: str, digest: Digest) -> dict[str, object]:
    """The reader's order of the digest's papers (their filter's only) and the reasons a mail would show."""
    config = load_config(project.config, project.environ)
    with open_store(config.database, now=NOW) as store:
        subscriber = store.subscribers.by_email(email)
        assert subscriber is not None
        profile = store.profiles.profile(subscriber)
        mailer = mailer_for(store, config, digest, transport=OutboxTransport(project.root / "outbox"), now=NOW)
        allowed = mailer.allowed(subscriber)
        for_you = config.email.for_you
        mailer.warm(store, [profile])
        ranking = mailer.rank(subscriber, profile)
    order = [index for index in ranking.order if allowed is None or index in allowed]
    return {
        "order": [digest.papers[index].title for index in order],
        "reasons": [[digest.papers[index].title, ranking.reason(index)] for index in order[:for_you]],
    }


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_readers_order_and_reasons_stay_as_they_are(rankings: dict[str, dict[str, object]], reader: str) -> None:
    result = rankings[reader]
    assert [len(day["order"]) for day in result.values()] == ([63, 11] if reader == "filtered" else [82, 22])  # type: ignore[index]
    assert_golden(GOLDEN / f"{reader}.json", json.dumps(result, indent=1, ensure_ascii=False) + "\n")


def test_the_golden_readers_are_personal() -> None:
    """Each golden file orders the papers its own way (a reader's profile changes something)."""
    orders = {
        name: json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
        for name in READERS
        if name != "filtered"
    }
    firsts = {name: tuple(tuple(day["order"][:5]) for day in result.values()) for name, result in orders.items()}
    assert len(set(firsts.values())) == len(firsts)


#: Papers of the latest digest a reader likes once it is published (from the archive, or a file).
LIKED_TODAY = (0, 3, 5, 8, 12)


def test_papers_a_reader_voted_for_leave_for_you_and_no_reason_names_its_own_paper(
    project: Project, rankings: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    config = load_config(project.config, project.environ)
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
    assert digest is not None and rankings  # (every digest is published)
    liked = [digest.papers[index].title for index in LIKED_TODAY]
    email = "liked-today@example.org"
    assert project.run("subscribers", "add", email, "--interests", "reasoning").code == 0
    assert project.run("subscribers", "like", email, *liked).code == 0
    result = ranked(project, email, digest)
    assert_golden(GOLDEN / "liked-today.json", json.dumps({digest.slug: result}, indent=1, ensure_ascii=False) + "\n")
    order = result["order"]
    assert isinstance(order, list) and sorted(order[-len(liked) :]) == sorted(liked)  # voted: last
    reasons = result["reasons"]
    assert isinstance(reasons, list) and len(reasons) == config.email.for_you
    assert not {title for title, _ in reasons} & set(liked)
    assert all(reason != f"like “{title}”" for title, reason in reasons)
    assert any(reason.startswith("like “") for _, reason in reasons)  # (the likes still rank the others)

    # The mail: For you holds none of them, Also new lists them, no "Why" names a paper itself.
    assert project.run("preview", "--subscriber", email, "--out", str(tmp_path)).code == 0
    text = (tmp_path / f"digest-{digest.slug}.txt").read_text(encoding="utf-8")
    for_you, also_new = text.split("ALSO NEW", 1)
    ids = {paper.title: paper.id for paper in digest.papers}
    cards = [int(found) for found in re.findall(r"/vote/[^/\s]+/(\d+)/more", for_you)]
    assert len(cards) == config.email.for_you and not set(cards) & {ids[title] for title in liked}
    assert all(f"#paper-{ids[title]}" in also_new for title in liked)
    titles = {paper.id: " ".join(paper.title.split()) for paper in digest.papers}
    for card in for_you.split("Less like this: ")[:-1]:
        own = titles[int(re.findall(r"/vote/[^/\s]+/(\d+)/more", card)[-1])]
        named = re.search(r"Why: like “(.*?)”", " ".join(card.split()))
        assert named is None or not own.startswith(named.group(1).rstrip("…"))


def test_a_reader_who_voted_for_most_of_a_small_digest_gets_only_the_others_in_full(project: Project) -> None:
    """For you never fills its places with voted papers, even when the unvoted ones are fewer."""
    from digest.models import Profile, VotedPaper
    from digest.ranking.features import rank_papers
    from digest.ranking.rank import first_unvoted

    config = load_config(project.config, project.environ)
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
    assert digest is not None
    papers = digest.papers[:12]
    votes = tuple(VotedPaper(paper.title, paper.abstract, paper.id) for paper in papers[:5])
    ranking = rank_papers(papers, Profile(likes=votes[:3], dislikes=votes[3:]), explain=10)
    assert ranking.voted == frozenset(range(5)) and set(ranking.order[-5:]) == set(range(5))
    assert first_unvoted(ranking, 10) == 7 and first_unvoted(ranking, 10, allowed={0, 1, 6}) == 1
    assert set(ranking.reasons) <= set(range(5, 12))


def test_a_digest_whose_features_an_earlier_version_kept_in_one_row_ranks_as_it_did(tmp_path: Path) -> None:
    from digest.ranking.kept import FEATURES

    project = Project(tmp_path / "project", "sqlite:///digest.db")
    project.inbox.mkdir(parents=True)
    project.write_config()
    for position, dump in enumerate(BY_DATE[:2]):
        project.drop(dump)
        assert project.run("ingest").code == 0
        assert project.run("publish").code == 0
        if position == 0:
            add_readers(project)
    config = load_config(project.config, project.environ)
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
    assert digest is not None
    before = {reader: ranked(project, f"{reader}@example.org", digest) for reader in READERS}
    scope = f"digest:{digest.id}"
    with open_store(config.database, now=NOW) as store, store.transaction():  # (as an earlier version kept it)
        whole = b"".join(store.ranking.parts(scope, FEATURES))
        store.db.execute("DELETE FROM ranking_rows WHERE scope = ?", (f"{scope}/{FEATURES}",))
        store.db.execute("DELETE FROM ranking_rows WHERE scope = ? AND name NOT IN ('history', 'topics')", (scope,))
        store.ranking.put(scope, {FEATURES: whole}, now=NOW)
    project.drop(BY_DATE[2])  # (a later listing: the history the features were made from is not today's)
    assert project.run("ingest").code == 0
    after = {reader: ranked(project, f"{reader}@example.org", digest) for reader in READERS}
    assert after == before
