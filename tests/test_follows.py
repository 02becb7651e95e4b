"""Following authors: the command line, the CSV column, and the mail's For you on both databases."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import datetime as dt
import email
import io
import json
import re
from email.message import Message
from pathlib import Path

import feedparser
import httpx
import numpy as np
import pytest

from digest.config import load_config
from digest.errors import ExitStatus
from digest.models import PaperDetails, StoredPaper
from digest.names import MAX_FOLLOWS
from digest.ranking.follows import AuthorIndex, followed_first
from digest.ranking.rank import Ranking
from digest.store import open_store
from digest.tokens import make_token
from digest.web import WebApp

from conftest import NOW, SECRET, Project

HOSTILE = '<b onmouseover="x">Mallory</b> \x00=cmd|calc'


def item(number: int, authors: list[str], day: int = 1) -> dict[str, object]:
    return {
        "id": f"2411.{day:02d}{number:03d}",
        "title": f"Paper {day}-{number} about sparse graph kernels",
        "summary": f"We propose method {day}-{number} for sparse graph kernels. It works on graphs of any size.",
        "authors": [{"name": name} for name in authors],
        "upvotes": 100 - number,
        "publishedAt": f"2026-11-{20 + day:02d}T06:00:00Z",
    }


def listing(day: int = 1) -> bytes:
    """Twelve papers: Ashish Vaswani wrote the 6th (as "A. Vaswani") and the 10th, Anna Vaswani the 3rd."""
    authors = {n: ["Grace Hopper", f"Author {n}"] for n in range(1, 13)}
    authors[3] = ["Anna Vaswani"]
    authors[6] = ["Noam Shazeer", "A.  Vaswani"]
    authors[10] = ["Ashish Vaswani", HOSTILE]
    authors[11] = [HOSTILE, "Łukasz Kaiser"]
    authors[12] = ['Eve "<script>alert(1)</script><!--digest:tail-->" Lovelace']
    return json.dumps([item(n, authors[n], day) for n in range(1, 13)]).encode()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite:///digest.db" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    project = Project(tmp_path / "project", database)
    project.inbox.mkdir(parents=True)
    project.write_config()
    project.environ["DIGEST_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
    assert project.run("subscribers", "add", "ada@example.org").code == ExitStatus.OK
    return project


def parts(path: Path) -> tuple[str, str]:
    message = email.message_from_bytes(path.read_bytes())
    text_part, html_part = message.get_payload()  # type: ignore[misc]
    assert isinstance(text_part, Message) and isinstance(html_part, Message)
    return (
        text_part.get_payload(decode=True).decode(),  # type: ignore[union-attr]
        html_part.get_payload(decode=True).decode(),  # type: ignore[union-attr]
    )


def cards(text: str) -> list[str]:
    """The For-you cards of a mail's text part, in order."""
    return text.split("More like this: ")[:-1]


def test_follow_and_unfollow_from_the_command_line(any_project: Project) -> None:
    project = any_project
    result = project.run("subscribers", "follow", "ada@example.org", "Ashish Vaswani", "yann lecun", "Ashish  Vaswani")
    assert result.code == ExitStatus.OK, result.stderr
    assert result.stdout == "ada@example.org: 2 authors newly followed; follows 2 authors: Ashish Vaswani, yann lecun\n"
    again = project.run("subscribers", "follow", "ada@example.org", "ASHISH VASWANI")
    assert "0 authors newly followed; follows 2 authors" in again.stdout
    assert "follows: Ashish Vaswani, yann lecun" in project.run("subscribers", "list").stdout
    (listed,) = [json.loads(line) for line in project.run("subscribers", "list", "--json").lines]
    assert listed["follows"] == ["Ashish Vaswani", "yann lecun"]
    # Unfollow by the name followed, or by another way of writing it; a name nobody follows is said, exit 3.
    result = project.run("subscribers", "unfollow", "ada@example.org", "Y. LeCun", "Anna Vaswani")
    assert result.code == ExitStatus.PARTIAL
    assert result.stderr == "digest: ada@example.org follows nobody named 'Anna Vaswani'\n"
    assert result.stdout == "ada@example.org: 1 author unfollowed; follows 1 author: Ashish Vaswani\n"


@pytest.mark.parametrize(
    ("names", "says"),
    [
        (["=1+2"], "'=1+2' is not a name (it has no letter)"),
        (["\x00"], "the name is empty"),
        (["x" * 5000], "has 5,000 characters, more than 100"),
        ([], "no name given"),
    ],
)
def test_a_bad_name_is_refused_in_one_line(project: Project, names: list[str], says: str) -> None:
    assert project.run("subscribers", "add", "ada@example.org").code == ExitStatus.OK
    result = project.run("subscribers", "follow", "ada@example.org", *names)
    assert result.code == ExitStatus.USAGE
    assert says in result.stderr and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert project.run("subscribers", "list", "--json").lines[0].count('"follows": []') == 1


def test_follows_are_bounded_and_an_unknown_reader_is_named(project: Project) -> None:
    assert project.run("subscribers", "add", "ada@example.org").code == ExitStatus.OK
    many = [f"Author Number{chr(0x4E00 + n)}" for n in range(MAX_FOLLOWS)]
    assert project.run("subscribers", "follow", "ada@example.org", *many).code == ExitStatus.OK
    result = project.run("subscribers", "follow", "ada@example.org", "One More")
    assert result.code == ExitStatus.USAGE
    assert f"more than {MAX_FOLLOWS}" in result.stderr and "unfollow some first" in result.stderr
    missing = project.run("subscribers", "follow", "nobody@example.org", "A. Vaswani")
    assert missing.code == ExitStatus.FAILURE and "nobody@example.org is not a subscriber" in missing.stderr


def test_the_follows_column_round_trips_and_is_neutralised(any_project: Project, tmp_path: Path) -> None:
    project = any_project
    assert project.run("subscribers", "follow", "ada@example.org", "-Dash Person", "Ashish Vaswani").code == 0
    exported = project.run("subscribers", "export").stdout
    (row,) = csv.DictReader(io.StringIO(exported))
    assert row["follows"] == "'-Dash Person\nAshish Vaswani"
    # Imported again, after unfollowing: the same follows, in the same order.
    assert project.run("subscribers", "unfollow", "ada@example.org", "Ashish Vaswani", "-Dash Person").code == 0
    other = project
    path = tmp_path / "readers.csv"
    path.write_text(exported, encoding="utf-8")
    assert other.run("subscribers", "import", str(path)).code == ExitStatus.OK
    assert other.run("subscribers", "export").stdout == exported
    # A row without the column keeps the follows; one with it replaces them; a bad name skips the row.
    path.write_text(
        'email,follows\nada@example.org,"Grace Hopper\n\nY. LeCun"\nbob@example.org,=1+2\n', encoding="utf-8"
    )
    result = other.run("subscribers", "import", str(path))
    assert result.code == ExitStatus.PARTIAL
    assert f"{path}:5: follows: '=1+2' is not a name (it has no letter); row skipped" in result.stderr
    assert "follows: Grace Hopper, Y. LeCun" in other.run("subscribers", "list").stdout
    path.write_text("email,interests\nada@example.org,graphs\n", encoding="utf-8")
    assert other.run("subscribers", "import", str(path)).code == ExitStatus.OK
    assert "follows: Grace Hopper, Y. LeCun" in other.run("subscribers", "list").stdout


def test_papers_by_followed_authors_come_first_with_their_reason(any_project: Project) -> None:
    project = any_project
    assert project.run("subscribers", "add", "bob@example.org", "--interests", "kernels").code == ExitStatus.OK
    for reader in ("ada@example.org", "bob@example.org"):
        assert project.run("subscribers", "follow", reader, "Ashish Vaswani", "Mallory").code == ExitStatus.OK
    assert project.run("subscribers", "follow", "bob@example.org", "Eve Lovelace").code == ExitStatus.OK
    assert project.run("subscribers", "add", "cy@example.org").code == ExitStatus.OK  # follows nobody
    project.drop("", "listing.json", data=listing())
    result = project.run("run")
    assert result.code == ExitStatus.OK, result.stderr
    mails = {path.name: parts(path) for path in sorted((project.root / "outbox" / "new").glob("*.eml"))}
    assert len(mails) == 3
    (ada, bob, cy) = (mails[f"digest-1-{n}.eml"] for n in (1, 2, 3))
    for text, body in (ada, bob):
        first = cards(text)[:3]
        assert "Paper 1-6 " in first[0] and "Why: by A. Vaswani" in first[0]
        assert "Paper 1-10 " in first[1] and "Why: by Ashish Vaswani" in first[1]  # (Mallory's tag is no name)
        assert "Paper 1-3 " not in first[2]  # Anna Vaswani is someone else
        assert ">\nFor you\n<" in body or "For you" in body
        assert "onmouseover" not in body.replace("&#34;", "").split("Why:")[1][:200]
        assert "by A. Vaswani" in body and "<b onmouseover" not in body
    text, body = bob
    assert "Paper 1-12 " in cards(text)[2] and 'Why: by Eve "<script>alert(1)</script>' in cards(text)[2]
    assert "by Eve &#34;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--digest:tail--" in body or (
        "by Eve &quot;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--digest:tail--" in body
    )
    assert "<script>" not in body
    text, body = cy
    assert "Paper 1-1 " in cards(text)[0] and "Why:" not in text and "For you" not in body


def test_the_follows_step_keeps_voted_papers_last_and_puts_the_newest_first() -> None:

    def paper(number: int, day: int, *authors: str) -> StoredPaper:
        seen = dt.datetime(2026, 11, day, 6, tzinfo=dt.UTC)
        details = PaperDetails(authors=authors)
        return StoredPaper(number, f"P{number}", "", (), 1, number, seen.date(), seen, details)

    papers = [
        paper(0, 21, "Grace Hopper"),
        paper(1, 21, "Ashish Vaswani", "Noam Shazeer"),
        paper(2, 22, "N. Shazeer", "A. Vaswani"),
        paper(3, 22, "Anna Vaswani"),
        paper(4, 22, "Ashish Vaswani"),
    ]
    index = AuthorIndex(papers)
    followed = index.followed(["Ashish Vaswani", "Noam Shazeer"])
    assert followed == {2: "by N. Shazeer, A. Vaswani", 4: "by Ashish Vaswani", 1: "by Ashish Vaswani, Noam Shazeer"}
    ranking = Ranking(np.array([3, 0, 2, 1, 4]), {3: "matches kernels"}, voted=frozenset({4}))
    first = followed_first(ranking, followed)
    assert first.order == (2, 1, 3, 0, 4)  # the newest first; the voted paper stays last
    assert first.reasons == {3: "matches kernels", 2: "by N. Shazeer, A. Vaswani", 1: "by Ashish Vaswani, Noam Shazeer"}
    assert followed_first(ranking, {}) is ranking and index.followed([]) == {}
    family = "Vaswani" * 20
    long = AuthorIndex([paper(0, 21, f"Ashish {family}", f"Noam {family}")])
    assert long.followed([f"A. {family}"])[0].endswith("…") and len(long.followed([f"N. {family}"])[0]) <= 60


def test_weekly_mails_and_the_personal_feed_put_followed_papers_first(project: Project) -> None:

    run = project.run
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    for reader in ("ada@example.org", "wes@example.org"):
        run("subscribers", "add", reader, *(("--frequency", "weekly") if reader.startswith("wes") else ()))
        assert run("subscribers", "follow", reader, "Ashish Vaswani").code == ExitStatus.OK
    for day in (1, 2):
        project.drop("", f"listing-{day}.json", data=listing(day))
        assert run("run", now=NOW - dt.timedelta(days=2 - day)).code == ExitStatus.OK
    monday = dt.datetime(2026, 11, 23, 7, 5, tzinfo=dt.UTC)
    assert run("run", now=monday).code == ExitStatus.OK
    (week,) = (project.root / "outbox" / "new").glob("week-*.eml")
    text, _ = parts(week)
    expected = [("2-6", "A. Vaswani"), ("2-10", "Ashish Vaswani"), ("1-6", "A. Vaswani"), ("1-10", "Ashish Vaswani")]
    for card, (paper, name) in zip(cards(text)[:4], expected, strict=True):
        assert f"Paper {paper} " in card and f"Why: by {name}" in card
    # The daily reader's personal feed: the followed papers of each digest come first, with their reason.
    config = load_config(project.config, project.environ)
    app = WebApp(
        config,
        open_store=lambda: open_store(config.database, now=monday),
        secret=SECRET.encode(),
        send_confirmation=lambda *_: None,
        clock=lambda: monday,
    ).application()

    def get(path: str) -> bytes:
        async def fetch() -> bytes:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=config.site.url) as client:
                return (await client.get(path)).content

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, fetch()).result()

    (ada,) = [row for row in run("subscribers", "list").lines if row.startswith("ada@")]
    assert "follows: Ashish Vaswani" in ada
    preferences = f"/preferences/{make_token(SECRET.encode(), 'preferences', 1, 'ada@example.org')}"
    page = get(preferences).decode()
    assert "Ashish Vaswani" in page and 'value="unfollow"' in page
    found = re.search(r'<p class="feed-url"><a href="https://digest.example.org([^"]+)"', page)
    assert found
    entries = feedparser.parse(get(found.group(1))).entries
    reasons = {entry.title: entry.content[0].value for entry in entries if "Why: by" in entry.content[0].value}
    assert sorted(reasons) == sorted(f"Paper {day}-{n} about sparse graph kernels" for day in (1, 2) for n in (6, 10))
    assert all("Why: by A. Vaswani" in reasons[f"Paper {day}-6 about sparse graph kernels"] for day in (1, 2))


def test_suggest_prints_terms_from_the_likes_and_says_when_there_are_none(project: Project) -> None:
    from conftest import EXAMPLE_DUMPS

    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").code == ExitStatus.OK
    assert project.run("subscribers", "add", "ada@example.org", "--interests", "robotics").code == ExitStatus.OK
    quiet = project.run("subscribers", "suggest", "ada@example.org")
    assert quiet.code == ExitStatus.OK and quiet.stdout == "" and quiet.stderr == ""  # no likes, no terms
    said = project.run("subscribers", "suggest", "ada@example.org", interactive=True)
    assert "no term sets their liked papers apart yet" in said.stderr
    diffusion = [
        "Diffusion Model Alignment Using Direct Preference Optimization",
        "Tuning Timestep-Distilled Diffusion Model Using Pairwise Sample Optimization",
        "Learning Energy-Based Models by Cooperative Diffusion Recovery Likelihood",
        "Policy-Guided Diffusion",
    ]
    assert project.run("subscribers", "like", "ada@example.org", *diffusion).code == ExitStatus.OK
    terms = [json.loads(line) for line in project.run("subscribers", "suggest", "ada@example.org", "--json").lines]
    assert terms and all(set(term) == {"term", "liked_share", "lift"} for term in terms)
    assert any("diffusion" in term["term"].casefold() for term in terms)
    assert all(term["liked_share"] >= 0.5 and term["lift"] >= 2 for term in terms)
    missing = project.run("subscribers", "suggest", "nobody@example.org")
    assert missing.code == ExitStatus.FAILURE and "nobody@example.org is not a subscriber" in missing.stderr
    assert project.run("subscribers", "suggest").code == ExitStatus.USAGE
