"""``digest ingest``, ``papers`` and ``status`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.errors import ExitStatus
from digest.listings.formats.text import parse_dump

from conftest import EXAMPLE_DUMPS, ROOT, Project

ABSTRACT = "We propose a thing and show that it works on every benchmark we tried, twice."


def ingest_json(project: Project, *args: str) -> list[dict[str, object]]:
    result = project.run("ingest", "--json", *args)
    assert result.code == ExitStatus.OK, result.stderr
    return [json.loads(line) for line in result.lines]


def counts(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(row["status"], row["papers"], row["new"]) for row in rows]


def set_mtime(path: os.PathLike[str], when: dt.datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def test_the_example_dumps_one_at_a_time_in_arrival_order(project: Project) -> None:
    found = [ingest_json(project, str(path))[0] for path in EXAMPLE_DUMPS]
    assert counts(found) == [("ingested", 89, 89), ("ingested", 44, 23), ("ingested", 59, 51)]
    assert [row["date"] for row in found] == ["2026-03-12", "2026-03-14", "2026-03-11"]
    first = found[1]
    assert set(first) == {"file", "sha256", "date", "status", "reason", "papers", "new", "new_titles"}
    assert len(first["new_titles"]) == 23  # type: ignore[arg-type]
    listed = [p.title for p in parse_dump(EXAMPLE_DUMPS[1].read_bytes(), today=dt.date(2026, 11, 22)).papers]
    assert first["new_titles"] == [title for title in listed if title in first["new_titles"]]  # rank order


@pytest.mark.postgres
def test_the_example_dumps_on_postgresql(pg_project: Project) -> None:
    found = [ingest_json(pg_project, str(path))[0] for path in EXAMPLE_DUMPS]
    assert counts(found) == [("ingested", 89, 89), ("ingested", 44, 23), ("ingested", 59, 51)]


def test_ingesting_the_same_content_again_changes_nothing(project: Project) -> None:
    ingest_json(project, str(EXAMPLE_DUMPS[0]))
    (again,) = ingest_json(project, str(EXAMPLE_DUMPS[0]))
    assert (again["status"], again["new"]) == ("duplicate", 0)
    assert "same content as" in str(again["reason"])
    # The same bytes with other line endings and a BOM are the same content.
    crlf = project.drop(
        EXAMPLE_DUMPS[0], "copy.txt", data=b"\xef\xbb\xbf" + EXAMPLE_DUMPS[0].read_bytes().replace(b"\n", b"\r\n")
    )
    (copy,) = ingest_json(project, str(crlf))
    assert copy["status"] == "duplicate"
    status = json.loads(project.run("status", "--json").stdout)
    assert (status["dumps"], status["papers"]) == (1, 89)


def test_pending_dumps_are_ingested_oldest_first_and_only_once(project: Project) -> None:
    for path in EXAMPLE_DUMPS:
        project.drop(path)
    undated = project.drop(path, "undated.txt", data=f"Subscribe\nAn Undated Paper\n{ABSTRACT}\n".encode())
    set_mtime(undated, dt.datetime(2026, 3, 13, 12, tzinfo=dt.UTC))
    rows = ingest_json(project)
    assert [row["file"] for row in rows] == [
        "002_38eb231d4b473bfc.txt",  # Mar 11
        "000_3c17afee710faccb.txt",  # Mar 12
        "undated.txt",  # arrived Mar 13
        "001_576c40920cfdde47.txt",  # Mar 14
    ]
    assert rows[2]["date"] == "2026-03-13"
    assert counts(rows)[0] == ("ingested", 59, 59)
    assert ingest_json(project) == []
    # A processed file that changes is looked at again.
    undated.write_bytes(f"Mar 20\nAnother Paper\n{ABSTRACT}\n".encode())
    assert counts(ingest_json(project)) == [("ingested", 1, 1)]


def test_a_bad_dump_is_set_aside_and_the_run_goes_on(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    project.drop(EXAMPLE_DUMPS[0], "broken.txt", data=f"Mar 13\nA Title\n{ABSTRACT}\nA Lonely Title\n".encode())
    project.drop(EXAMPLE_DUMPS[1])
    result = project.run("ingest")
    assert result.code == ExitStatus.PARTIAL == 3
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: rejected broken.txt: line 4: the title 'A Lonely Title' has no abstract")
    assert "Traceback" not in result.stderr
    assert not (project.inbox / "broken.txt").exists()
    assert (project.inbox / "rejected" / "broken.txt").exists()
    reason = (project.inbox / "rejected" / "broken.txt.reason").read_text()
    assert reason.startswith("line 4: ")
    status = json.loads(project.run("status", "--json").stdout)
    assert (status["dumps"], status["rejected"], status["papers"]) == (2, 1, 112)


def test_binary_and_empty_files_are_rejected(project: Project) -> None:
    project.drop("x", "empty.txt", data=b"")
    project.drop("x", "binary.txt", data=bytes(range(256)) * 4)
    result = project.run("ingest", "--json")
    assert result.code == ExitStatus.PARTIAL
    rows = {row["file"]: row for row in map(json.loads, result.lines)}
    assert rows["empty.txt"]["reason"] == "the file is empty"
    assert "binary" in rows["binary.txt"]["reason"]
    assert sorted(p.name for p in (project.inbox / "rejected").iterdir()) == [
        "binary.txt",
        "binary.txt.reason",
        "empty.txt",
        "empty.txt.reason",
    ]


def test_a_missing_file_or_a_folder_is_a_usage_error(project: Project) -> None:
    for path, problem in ((project.root / "nope.txt", "does not exist"), (project.root, "is a folder")):
        result = project.run("ingest", str(EXAMPLE_DUMPS[0]), str(path))
        assert result.code == ExitStatus.USAGE
        (line,) = result.stderr.splitlines()
        assert f"{path} {problem}" in line and "set aside" not in line
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 0  # nothing was ingested


def test_ingest_is_quiet_without_a_terminal_and_talks_with_one(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").stdout == ""
    project.drop(EXAMPLE_DUMPS[1])
    shown = project.run("ingest", interactive=True)
    assert shown.stdout == "001_576c40920cfdde47.txt: ingested, 44 papers, 23 new\n"
    assert project.run("ingest", interactive=True).stdout == "nothing to ingest\n"


def test_papers_lists_recent_papers(project: Project) -> None:
    for path in EXAMPLE_DUMPS:
        ingest_json(project, str(path))
    all_rows = [json.loads(line) for line in project.run("papers", "--json", "--limit", "500").lines]
    assert len(all_rows) == 163
    since = [json.loads(line) for line in project.run("papers", "--json", "--new-since", "2026-03-13").lines]
    assert len(since) == 23 and {row["first_seen"] for row in since} == {"2026-03-14"}
    text = project.run("papers", "--limit", "2").lines
    assert len(text) == 2 and text[0].startswith("2026-03-14  ")


def test_status_reports_counts_and_last_dump(project: Project) -> None:
    assert "last dump:   none yet" in project.run("status").stdout
    ingest_json(project, str(EXAMPLE_DUMPS[0]))
    out = project.run("status").stdout
    assert "1 dump, 89 papers, 0 rejected dumps" in out
    assert "000_3c17afee710faccb.txt (2026-03-12): 89 papers, 89 new" in out


def all_commands() -> list[list[str]]:
    """Every command and subcommand the parser knows, e.g. ["subscribers", "add"]."""
    import argparse

    from digest.cli import build_parser

    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append([*path, name])
                    walk(sub, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(project: Project, command: list[str]) -> None:
    result = project.run(*command, "--help")
    assert result.code == 0
    description = result.stdout.split("\n\n")[1]
    assert len(description.split()) >= 5, "the command needs a description"
    assert "example:" in result.stdout and f"digest {command[0]}" in result.stdout.split("example:")[1]
    assert "exit status:" in result.stdout


def test_usage_errors_exit_2_with_one_line(project: Project) -> None:
    for args in (["frobnicate"], ["papers", "--new-since", "March"], ["papers", "--limit", "0"], []):
        result = project.run(*args)
        assert result.code == ExitStatus.USAGE, args
        if args:
            assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_database_failure_is_one_line_and_exit_1(project: Project) -> None:
    project.database = "postgresql://nobody@127.0.0.1:1/none"
    project.write_config()
    result = project.run("status")
    assert result.code == ExitStatus.FAILURE
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: error: cannot connect to PostgreSQL") and "DIGEST_DATABASE_URL" in line
    debug = project.run("status", "--debug")
    assert "Traceback" in debug.stderr


def test_python_dash_m_and_the_console_script_work() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "digest", "--version"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("digest ")


def test_a_missing_inbox_is_an_error_not_an_empty_day(project: Project) -> None:
    project.inbox.rmdir()
    for args in (["ingest"], ["run"]):
        result = project.run(*args)
        assert result.code == ExitStatus.USAGE, args
        (line,) = result.stderr.splitlines()
        assert "inbox: the folder" in line and "does not exist" in line


def test_a_missing_or_unwritable_path_is_one_line(project: Project, tmp_path: Path) -> None:
    missing = project.run("preview", "--dump", str(tmp_path / "nope.txt"))
    assert missing.code == ExitStatus.FAILURE
    (line,) = missing.stderr.splitlines()
    assert line == f"digest: error: {tmp_path / 'nope.txt'}: No such file or directory"


def test_a_reader_that_stops_reading_ends_the_command_quietly(project: Project) -> None:
    """`digest papers | head -1`: no "Broken pipe" error, no traceback."""
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    command = f"{sys.executable} -m digest --config {project.config} papers --limit 500 | head -n 1"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False, cwd=project.root)
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""
