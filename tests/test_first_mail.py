"""What a new user and a new subscriber see: the quick start's promise, kept."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from digest.errors import ExitStatus

from conftest import EXAMPLE_DUMPS, NOW, Project


def outbox(project: Project) -> list[str]:
    folder = project.root / "outbox" / "new"
    return sorted(path.name for path in folder.glob("*.eml")) if folder.is_dir() else []


def test_a_subscriber_added_after_the_digest_gets_it_on_the_next_run(project: Project) -> None:
    """README: "`digest subscribers add you@example.org` and another `digest run` write the email"."""
    for path in EXAMPLE_DUMPS:
        project.drop(path)
    assert project.run("run").code == ExitStatus.OK  # published; nobody to send to yet
    assert outbox(project) == []
    assert project.run("subscribers", "add", "you@example.org").code == ExitStatus.OK
    # Both dry runs say the same thing.
    assert "would send 1 digest(s) to up to 1 active subscribers" in project.run("run", "--dry-run").stdout
    assert "would send to at most 1 active subscribers" in project.run("send", "--dry-run").stdout
    assert project.run("run").code == ExitStatus.OK
    assert outbox(project) == ["digest-1-1.eml"]
    # Once: the next runs send nothing more, and say there is nothing to send.
    assert project.run("run").code == ExitStatus.OK
    assert "nothing to send" in project.run("run", "--dry-run").stdout
    assert outbox(project) == ["digest-1-1.eml"]


def test_a_new_subscriber_gets_the_latest_digest_only(project: Project) -> None:
    for day, path in enumerate(EXAMPLE_DUMPS):
        project.drop(path)
        assert project.run("run", now=NOW + dt.timedelta(days=day)).code == ExitStatus.OK  # three digests
    assert project.run("subscribers", "add", "late@example.org").code == ExitStatus.OK
    assert project.run("run", now=NOW + dt.timedelta(days=3)).code == ExitStatus.OK
    assert outbox(project) == ["digest-3-1.eml"]


def test_run_progress_is_printed_as_it_happens(project: Project) -> None:
    """A run that fails later (here: for a missing signing key) keeps the lines of what it did."""
    project.environ["DIGEST_SECRET_KEY"] = "short"
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("subscribers", "add", "you@example.org").code == ExitStatus.OK
    result = project.run("run", "--verbose")
    assert result.code == ExitStatus.USAGE
    assert f"{EXAMPLE_DUMPS[0].name}: ingested, 89 papers, 89 new" in result.stdout
    assert "published 2026-03-12: 89 new papers" in result.stdout
    assert "DIGEST_SECRET_KEY: is too short" in result.stderr


def test_a_digest_is_named_by_its_date_or_latest_everywhere(project: Project, tmp_path: Path) -> None:
    for day, path in enumerate(EXAMPLE_DUMPS):
        project.drop(path)
        assert project.run("run", now=NOW + dt.timedelta(days=day)).code == ExitStatus.OK
    assert project.run("subscribers", "add", "you@example.org").code == ExitStatus.OK
    assert project.run("send", "--digest", "2026-03-14").code == ExitStatus.OK
    shown = project.run("deliveries", "--digest", "2026-03-14")
    assert shown.stdout.startswith("digest 2026-03-14: 1 sent")
    assert project.run("deliveries", "--digest", "latest").stdout.startswith("digest 2026-03-11: 0 sent")
    assert json.loads(project.run("status", "--json").stdout)["last_digest"]["slug"] == "2026-03-11"
    preview = project.run("preview", "--digest", "2026-03-12", "--out", str(tmp_path))
    assert preview.code == ExitStatus.OK and (tmp_path / "digest-2026-03-12.html").exists()
    missing = project.run("send", "--digest", "2026-01-01")
    assert missing.code == ExitStatus.USAGE and "there is no digest 2026-01-01" in missing.stderr
    nonsense = project.run("deliveries", "--digest", "yesterday")
    assert nonsense.code == ExitStatus.USAGE and "a digest's date such as 2026-03-14" in nonsense.stderr


@pytest.mark.postgres
def test_the_first_mail_flow_on_postgresql(pg_project: Project) -> None:
    """The same promise on PostgreSQL: new subscribers, kept HTML, digest names, the site's identity."""
    project = pg_project
    project.environ["DIGEST_SECRET_KEY"] = "a-secret-key-for-postgresql-tests-0123456789"
    for day, path in enumerate(EXAMPLE_DUMPS):
        project.drop(path)
        assert project.run("run", now=NOW + dt.timedelta(days=day)).code == ExitStatus.OK
    assert project.run("subscribers", "add", "you@example.org").code == ExitStatus.OK
    assert "would send 1 digest(s)" in project.run("run", "--dry-run").stdout
    assert project.run("run", now=NOW + dt.timedelta(days=3)).code == ExitStatus.OK
    assert outbox(project) == ["digest-3-1.eml"]
    counts = json.loads(project.run("deliveries", "--digest", "2026-03-11", "--json").stdout)
    assert (counts["digest"], counts["sent"], counts["uncertain"]) == ("2026-03-11", 1, 0)
    assert json.loads(project.run("status", "--json").stdout)["schema_version"] >= 11
    assert (project.root / "site" / ".digest-store").exists()
