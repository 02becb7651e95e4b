"""What the command line says to a new operator: options anywhere, counts in words that agree with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_config
from digest.errors import ConfigError, ExitStatus

from conftest import EXAMPLE_DUMPS, Project

ONE_PAPER = b"Mar 20\nA Brand New Paper\nWith an abstract of several words.\n"


@pytest.fixture
def reader(project: Project) -> Project:
    assert project.run("subscribers", "add", "reader@example.org").code == 0
    return project


def test_common_options_work_anywhere_on_the_line(reader: Project) -> None:
    result = reader.run("subscribers", "like", "reader@example.org", "--verbose", "A Paper Nobody Listed Yet")
    assert result.code == 0, result.stderr
    assert "liked 1 paper" in result.stdout
    result = reader.run("subscribers", "dislike", "--verbose", "reader@example.org", "Another Unlisted Paper", "-v")
    assert result.code == 0, result.stderr
    dump = reader.drop(EXAMPLE_DUMPS[1])
    result = reader.run("ingest", "--verbose", str(dump), "--json")
    assert result.code == 0 and '"status": "ingested"' in result.stdout


def test_like_says_what_it_matched_also_without_a_terminal(reader: Project) -> None:
    result = reader.run("subscribers", "like", "reader@example.org", "A Paper Nobody Listed Yet", interactive=False)
    assert result.code == 0
    assert result.stdout.startswith("reader@example.org: liked 1 paper: 0 matched in the history, 1 kept")
    assert result.stdout.rstrip().endswith("; 0 lines rejected")


def test_one_of_a_thing_is_said_in_the_singular(reader: Project, tmp_path: Path) -> None:
    favourites = tmp_path / "favourites.txt"
    favourites.write_text("A Paper Nobody Listed Yet\nhttps://example.org/not-a-paper\n", encoding="utf-8")
    liked = reader.run("subscribers", "like", "reader@example.org", "--file", str(favourites))
    assert liked.code == ExitStatus.PARTIAL and "; 1 line rejected" in liked.stdout
    reader.drop("", "next.txt", data=ONE_PAPER)
    run = reader.run("run", "--verbose")
    assert "next.txt: ingested, 1 paper, 1 new" in run.stdout
    assert "published 2026-03-20: 1 new paper" in run.stdout and "1 new papers" not in run.stdout
    mail = next((reader.root / "outbox" / "new").glob("*.eml")).read_text(encoding="utf-8")
    assert "Subject: 1 new paper for 2026-03-20" in mail
    status = reader.run("status").stdout
    assert "history:     1 dump, 1 paper, 0 rejected dumps" in status
    assert "1 paper, 1 new;" in status and "2026-03-20: 1 paper;" in status
    dry = reader.run("send", "--dry-run").stdout
    assert "(1 paper)" in dry


def test_subject_templates_may_say_paper_or_papers(project: Project) -> None:
    project.write_config("email:\n  subject: '{count} {papers} ({date})'\n")
    assert load_config(project.config, {}).email.subject == "{count} {papers} ({date})"
    project.write_config("email:\n  subject: '{count} {paperz}'\n")
    with pytest.raises(ConfigError, match=r"\{papers\}"):
        load_config(project.config, {})


def test_a_missing_file_to_ingest_says_how_to_ingest_the_inbox(project: Project) -> None:
    result = project.run("ingest", "nothing-here.txt")
    assert result.code == ExitStatus.USAGE
    assert "nothing-here.txt does not exist" in result.stderr
    assert "name existing dump files, or none to ingest the inbox's pending dumps" in result.stderr


def test_a_send_to_an_unreachable_relay_says_why_and_deliveries_counts_the_attempts(reader: Project) -> None:
    from smtp_server import free_port

    reader.drop(EXAMPLE_DUMPS[0])
    assert reader.run("ingest").code == 0 and reader.run("publish").code == 0
    reader.environ.update(DIGEST_SECRET_KEY="k" * 40, DIGEST_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    for command in ("send", "run"):
        result = reader.run(command)
        assert result.code == ExitStatus.PARTIAL
        (line,) = result.stderr.splitlines()
        assert line.startswith("digest: 1 delivery waits to be retried: cannot connect to 127.0.0.1:"), command
        assert "Connection refused" in line
    shown = reader.run("deliveries").stdout
    assert "1 queued" in shown
    assert "reader@example.org: cannot connect to 127.0.0.1:" in shown and "(2 attempts)" in shown


def test_a_dump_that_waits_to_settle_is_said_to_wait(project: Project) -> None:
    import json
    import os

    from conftest import NOW

    project.config.write_text(project.config.read_text().replace("inbox_settle: 0s", "inbox_settle: 5s"))
    dump = project.drop(EXAMPLE_DUMPS[0], "young.txt")
    moment = (NOW.timestamp() - 2, NOW.timestamp() - 2)
    os.utime(dump, moment)  # written two seconds before the run
    quiet = project.run("ingest")
    assert (quiet.code, quiet.stdout, quiet.stderr) == (0, "", "")  # under cron: nothing to say yet
    said = project.run("ingest", interactive=True)
    assert said.stdout.startswith("young.txt: waits to settle: modified 2 s ago; read once it is 5 s old")
    (row,) = [json.loads(line) for line in project.run("ingest", "--json").lines]
    assert row["status"] == "waiting" and row["file"] == "young.txt" and "modified 2 s ago" in row["reason"]
    run = project.run("run", "--verbose")
    assert run.code == 0
    assert "young.txt: waits to settle" in run.stdout
    assert "nothing to do yet: 1 dump waits to settle" in run.stdout and "no new dump" not in run.stdout
    assert "would wait to settle (modified 2 s ago" in project.run("run", "--dry-run").stdout
    later = project.run("ingest", "--verbose", now=NOW.replace(second=10))
    assert "young.txt: ingested, 89 papers, 89 new" in later.stdout
