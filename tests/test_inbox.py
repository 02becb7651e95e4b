"""The inbox under hostile conditions: unreadable entries, files still being written, vanished databases."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from digest.errors import ExitStatus

from conftest import EXAMPLE_DUMPS, NOW, Project

TITLE = "Sparse Retrieval Heads for Long Context Language Models"
ABSTRACT = (
    "We propose sparse retrieval heads, a mechanism that lets a language model fetch the few tokens it needs "
    "from a long context. On six long-context benchmarks it matches dense attention at a fifth of the cost, "
    "and it keeps working when the context grows to a million tokens."
)


def dump(*papers: tuple[str, str]) -> bytes:
    return "\n".join(f"{title}\n{abstract}\n" for title, abstract in papers).encode()


def set_mtime(path: Path, when: dt.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()), follow_symlinks=False)


def test_a_symlink_loop_is_set_aside_and_the_other_dumps_are_ingested(project: Project) -> None:
    (project.inbox / "loop.txt").symlink_to("loop.txt")
    project.drop(EXAMPLE_DUMPS[0])
    result = project.run("run")
    assert result.code == ExitStatus.PARTIAL, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: rejected loop.txt: cannot read the file:") and "set aside in" in line
    assert (project.inbox / "rejected" / "loop.txt").is_symlink()
    assert "cannot read the file" in (project.inbox / "rejected" / "loop.txt.reason").read_text()
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 89
    assert project.run("run").code == ExitStatus.OK  # nothing is reported twice


def test_a_dump_that_cannot_be_moved_says_so_and_is_not_reported_again(project: Project) -> None:
    (project.inbox / "bad.txt").write_bytes(b"\x00\x01\x02 not a dump")
    (project.inbox / "rejected").write_text("a file where the rejected folder should be")
    first = project.run("run")
    assert first.code == ExitStatus.PARTIAL
    (line,) = first.stderr.splitlines()
    assert "could not be moved" in line and "set aside in" not in line
    assert (project.inbox / "bad.txt").exists()
    second = project.run("run")
    assert (second.code, second.stderr) == (ExitStatus.OK, "")


def test_a_file_still_being_written_waits_for_a_later_pass(project: Project) -> None:
    project.config.write_text(project.config.read_text().replace("inbox_settle: 0s", "inbox_settle: 30s"))
    path = project.drop(EXAMPLE_DUMPS[0])
    set_mtime(path, NOW - dt.timedelta(seconds=10))
    assert project.run("run").code == ExitStatus.OK
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 0
    later = project.run("run", now=NOW + dt.timedelta(seconds=25))
    assert later.code == ExitStatus.OK
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 89


def test_a_later_longer_listing_completes_a_cut_abstract(project: Project) -> None:
    other = ("Another Paper About Something Else Entirely", "We show that something else entirely holds. " * 4)
    cut = ABSTRACT[: ABSTRACT.index("at a fifth")].rstrip()
    project.drop("", "a.txt", data=dump(other, (TITLE, cut)))
    assert project.run("ingest").code == ExitStatus.OK
    project.drop("", "b.txt", data=dump((TITLE, ABSTRACT), other))
    (row,) = [json.loads(line) for line in project.run("ingest", "--json").lines]
    assert row["new"] == 0
    papers = {paper["title"]: paper for paper in map(json.loads, project.run("papers", "--json").lines)}
    assert papers[TITLE]["abstract"] == ABSTRACT


def test_a_different_abstract_is_not_taken_as_a_completion(project: Project) -> None:
    project.drop("", "a.txt", data=dump((TITLE, ABSTRACT)))
    project.run("ingest")
    changed = ABSTRACT.replace("six", "seven") + " More."
    project.drop("", "b.txt", data=dump((TITLE, changed)))
    project.run("ingest")
    papers = {paper["title"]: paper for paper in map(json.loads, project.run("papers", "--json").lines)}
    assert papers[TITLE]["abstract"] == ABSTRACT


def test_a_lost_database_is_an_error_not_a_fresh_start(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("run").code == ExitStatus.OK
    assert (project.root / "site" / "archive").is_dir()
    (project.root / "digest.db").unlink()
    result = project.run("run")
    assert result.code == ExitStatus.FAILURE
    (line,) = result.stderr.splitlines()
    assert "was published from another history database" in line
    assert "restore the database, or start over on purpose" in line
    assert not (project.root / "digest.db").exists() or json.loads(_status(project))["papers"] == 0
    # Starting over on purpose: move the site away, and run again.
    shutil.move(project.root / "site", project.root / "old-site")
    assert project.run("run").code == ExitStatus.OK
    assert json.loads(_status(project))["papers"] == 89


def test_a_site_from_before_the_identity_file_with_an_empty_database_is_refused(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("run").code == ExitStatus.OK
    (project.root / "site" / ".digest-store").unlink()
    assert project.run("run").code == ExitStatus.OK  # the history knows its digests: the marker is written again
    assert (project.root / "site" / ".digest-store").exists()
    (project.root / "site" / ".digest-store").unlink()
    (project.root / "digest.db").unlink()
    result = project.run("status")
    assert result.code == ExitStatus.FAILURE
    assert "holds digests this history database does not know" in result.stderr


def _status(project: Project) -> str:
    moved = project.root / "site"
    if not moved.exists():
        return project.run("status", "--json").stdout
    hidden = project.root / "site-hidden"
    moved.rename(hidden)
    try:
        return project.run("status", "--json").stdout
    finally:
        hidden.rename(moved)
