"""What a new user and a new subscriber see: the quick start's promise, kept."""

from __future__ import annotations

import datetime as dt

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
