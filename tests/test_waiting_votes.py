"""A vote that names a paper before any listing brings it (by arXiv id, or by title) waits, then joins it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from digest.store import open_store

from conftest import NOW, Project

LISTING = Path(__file__).parent / "data" / "listings" / "daily_papers_nested.json"
LISTED_ID = "2403.01234"
LISTED_TITLE = "Stochastic Interpolants: A Unifying Framework for Flows and Diffusions"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    database = "sqlite:///digest.db" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    project = Project(tmp_path / "project", database)
    project.inbox.mkdir(parents=True)
    project.write_config()
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    return project


def votes(project: Project) -> list[dict[str, object]]:
    return [json.loads(line) for line in project.run("subscribers", "votes", "ada@example.org", "--json").lines]


def test_a_like_by_arxiv_id_waits_for_its_paper_then_joins_it(any_project: Project) -> None:
    project = any_project
    liked = project.run("subscribers", "like", "ada@example.org", LISTED_ID)
    assert "1 named by arXiv id, waiting for a listing to bring it" in liked.stdout
    shown = project.run("subscribers", "votes", "ada@example.org").stdout
    assert f"(waits for arXiv:{LISTED_ID} to be listed; it counts from then on)" in shown
    (vote,) = votes(project)
    assert vote["in_history"] is False and vote["waits_for"] == f"arXiv:{LISTED_ID}"
    project.drop(LISTING)
    assert project.run("ingest").code == 0
    (vote,) = votes(project)
    assert vote["in_history"] is True and vote["waits_for"] is None
    assert vote["title"] == LISTED_TITLE and vote["arxiv_id"] == LISTED_ID
    assert project.run("subscribers", "votes", "ada@example.org").stdout == f"like     {LISTED_TITLE}\n"
    # Its usual key now: a second like of the paper replaces it, and unvote by title finds it.
    assert project.run("subscribers", "like", "ada@example.org", LISTED_TITLE).code == 0
    assert len(votes(project)) == 1
    assert project.run("subscribers", "unvote", "ada@example.org", LISTED_TITLE).code == 0
    assert votes(project) == []


def test_a_like_by_title_joins_its_paper_when_it_is_listed(any_project: Project) -> None:
    project = any_project
    project.run("subscribers", "like", "ada@example.org", LISTED_TITLE.upper())
    (vote,) = votes(project)
    assert vote["waits_for"] == "title"
    shown = project.run("subscribers", "votes", "ada@example.org").stdout
    assert "its title counts until a listing brings the paper" in shown
    project.drop(LISTING)
    assert project.run("ingest").code == 0
    (vote,) = votes(project)
    assert vote["in_history"] is True and vote["arxiv_id"] == LISTED_ID and vote["title"] == LISTED_TITLE


def test_a_waiting_like_by_id_carries_no_weight(project: Project, tmp_path: Path) -> None:
    from conftest import EXAMPLE_DUMPS

    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").code == 0
    project.run("subscribers", "add", "ada@example.org")
    project.run("subscribers", "like", "ada@example.org", "2501.11111")
    result = project.run("preview", "--subscriber", "ada@example.org", "--out", str(tmp_path))
    assert result.code == 0
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert re.search(r">\s*Top papers\s*<", html) and not re.search(r">\s*For you\s*<", html)
    assert "2501.11111" not in html  # no reason names it


def test_the_upgrade_joins_votes_whose_paper_was_listed_before_it(any_project: Project) -> None:
    project = any_project
    project.drop(LISTING)
    assert project.run("ingest").code == 0
    database = project.database if "postgresql" in project.database else f"sqlite:///{project.root / 'digest.db'}"
    with open_store(database, now=NOW) as store:  # as an older version left them: waiting, its paper listed since
        (subscriber,) = [row[0] for row in store.db.execute("SELECT id FROM subscribers")]
        for key, arxiv, title in ((f"arxiv:{LISTED_ID}", LISTED_ID, LISTED_ID), ("title:nosuchpaperyet", None, "No")):
            store.db.execute(
                "INSERT INTO votes (subscriber_id, paper_key, kind, paper_id, arxiv_id, title, abstract, created_at)"
                " VALUES (?, ?, 'like', NULL, ?, ?, '', ?)",
                (subscriber, key, arxiv, title, NOW),
            )
        store.db.execute("DELETE FROM schema_migrations WHERE version = 19")
        store.db.execute("DROP INDEX votes_waiting")
    shown = {str(vote["title"]): vote for vote in votes(project)}  # the next command upgrades the database
    assert shown[LISTED_TITLE]["in_history"] is True and shown[LISTED_TITLE]["waits_for"] is None
    assert shown["No"]["waits_for"] == "title"
