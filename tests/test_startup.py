"""What a command loads and does when there is little to do: cron's idle run, a send of a published digest.

Each command runs in a process of its own (a cold start, as cron starts it), and reports the modules it
imported. A send reads each digest's ranking kept when it was published: it ranks every reader as a fresh
computation would, without scikit-learn or scipy.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digest.config import load_config
from digest.models import Digest
from digest.ranking.features import rank_papers
from digest.ranking.filters import matches
from digest.ranking.rank import IDF_SAMPLE, first_unvoted
from digest.ranking.rows import vote_key
from digest.store import Store, open_store

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project

#: Runs digest's command line at a given time and writes the names of every module it imported.
WRAPPER = """
import datetime as dt, os, sys
from digest.cli import Environment, main
now = dt.datetime.fromisoformat(os.environ["DIGEST_TEST_NOW"])
status = main(sys.argv[1:], Environment(clock=lambda: now))
with open(os.environ["DIGEST_TEST_MODULES"], "w", encoding="utf-8") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(status)
"""
RANKING = ("sklearn", "scipy")
HEAVY = (*RANKING, "numpy", "jinja2", "premailer", "cssutils", "lxml", "httpx", "feedparser", "feedgen", "apscheduler")


def cold(project: Project, *args: str, now: dt.datetime = NOW) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``digest ARGS`` in a new process; its result and the top-level packages it imported."""
    report = project.root / "modules.txt"
    env = {**os.environ, **project.environ, "DIGEST_TEST_NOW": now.isoformat(), "DIGEST_TEST_MODULES": str(report)}
    env.pop("DIGEST_SMTP_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, "--config", str(project.config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    modules = {name.split(".")[0] for name in report.read_text(encoding="utf-8").split()}
    return result, modules


@pytest.fixture
def readers(project: Project) -> Project:
    """Two digests (the dumps of Mar 11 and Mar 12), and readers who voted for papers of the first one."""
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.drop(EXAMPLE_DUMPS[2])
    assert project.run("run").code == 0
    first = store_digest(project)
    titles = [paper.title for paper in first.papers]
    assert project.run("subscribers", "add", "plain@example.org").code == 0
    assert project.run("subscribers", "add", "terms@example.org", "--interests", "diffusion, reasoning").code == 0
    assert project.run("subscribers", "add", "votes@example.org", "--interests", "alignment").code == 0
    assert project.run("subscribers", "like", "votes@example.org", *titles[10:14]).code == 0
    assert project.run("subscribers", "dislike", "votes@example.org", titles[20]).code == 0
    assert project.run("subscribers", "add", "filtered@example.org", "--include", "language").code == 0
    assert project.run("subscribers", "like", "filtered@example.org", titles[3], "A paper nobody listed").code == 0
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").code == 0
    assert project.run("publish").code == 0
    return project


def store_digest(project: Project) -> Digest:
    with open_store(load_config(project.config, project.environ).database, now=NOW) as store:
        digest = store.digests.get()
    assert digest is not None
    return digest


def for_you_ids(message: bytes) -> list[int]:
    """The papers of a mail's For you, in its order (their vote links name them)."""
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    text = parsed.get_body(("plain",))
    assert isinstance(text, email.message.EmailMessage)
    head = str(text.get_content()).split("ALSO NEW", 1)[0]
    return [int(found) for found in re.findall(r"/vote/[^/\s]+/(\d+)/more", head)]


def fresh_for_you(store: Store, digest: Digest, address: str, for_you: int) -> list[int]:
    """A reader's For you as a fresh ranking makes it: features and rows computed from the texts, now."""
    subscriber = store.subscribers.by_email(address)
    assert subscriber is not None
    profile = store.profiles.profile(subscriber)
    allowed = None
    if subscriber.include or subscriber.exclude:
        allowed = {i for i, paper in enumerate(digest.papers) if matches(paper, subscriber.include, subscriber.exclude)}
    explain = for_you + (len(digest.papers) - len(allowed) if allowed is not None else 0)
    history = store.profiles.recent_texts(IDF_SAMPLE)
    ranking = rank_papers(digest.papers, profile, history=history, explain=explain)
    order = [index for index in ranking.order if allowed is None or index in allowed]
    return [digest.papers[index].id for index in order[: first_unvoted(ranking, for_you, allowed)]]


def sent_for_you(project: Project) -> dict[str, list[int]]:
    """Each outbox message's recipient and For-you papers."""
    found = {}
    for path in (project.root / "outbox" / "new").glob("*.eml"):
        message = path.read_bytes()
        recipient = email.message_from_bytes(message, policy=email.policy.default)["To"]
        found[str(recipient)] = for_you_ids(message)
    return found


def expected_for_you(project: Project, addresses: list[str]) -> dict[str, list[int]]:
    config = load_config(project.config, project.environ)
    digest = store_digest(project)
    with open_store(config.database, now=NOW) as store:
        return {address: fresh_for_you(store, digest, address, config.email.for_you) for address in addresses}


ADDRESSES = ["plain@example.org", "terms@example.org", "votes@example.org", "filtered@example.org"]


def test_an_idle_run_loads_no_ranking_rendering_or_http_library_and_leaves_the_site_alone(readers: Project) -> None:
    assert readers.run("run").code == 0  # (sends the latest digest to everyone)
    index = readers.root / "site" / "index.html"
    written = index.stat().st_mtime_ns
    result, modules = cold(readers, "run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert index.stat().st_mtime_ns == written


def test_a_send_of_a_published_digest_ranks_every_reader_from_kept_rows_without_scikit_learn(
    readers: Project,
) -> None:
    result, modules = cold(readers, "send")
    assert result.returncode == 0, result.stderr
    assert not modules & set(RANKING), sorted(modules & set(RANKING))
    assert not modules & {"jinja2", "premailer"}, "the email's blocks kept at publish: a send renders nothing"
    sent = sent_for_you(readers)
    assert sorted(sent) == sorted(ADDRESSES)
    assert sent == expected_for_you(readers, ADDRESSES)
    assert len(set(map(tuple, sent.values()))) == len(ADDRESSES)  # (each reader's own order)


def test_a_vote_while_a_mail_waits_is_ranked_ahead_so_the_send_still_needs_no_scikit_learn(readers: Project) -> None:
    digest = store_digest(readers)
    today = [paper.title for paper in digest.papers]
    assert readers.run("subscribers", "like", "plain@example.org", today[7], today[30]).code == 0
    assert readers.run("subscribers", "set", "terms@example.org", "--interests", "robots, agents").code == 0
    result, modules = cold(readers, "send")
    assert result.returncode == 0, result.stderr
    assert not modules & set(RANKING), sorted(modules & set(RANKING))
    sent = sent_for_you(readers)
    assert sent == expected_for_you(readers, ADDRESSES)
    ids = {paper.title: paper.id for paper in digest.papers}
    assert not {ids[today[7]], ids[today[30]]} & set(sent["plain@example.org"])  # (voted: not in For you)


@pytest.mark.parametrize("lost", ["a reader's row", "every row"])
def test_rows_that_were_not_kept_are_made_when_needed_and_rank_the_same(readers: Project, lost: str) -> None:
    config = load_config(readers.config, readers.environ)
    with open_store(config.database, now=NOW) as store:
        if lost == "every row":
            store.db.execute("DELETE FROM ranking_rows")
        else:  # every row but the digest's features and its history scores
            store.db.execute("DELETE FROM ranking_rows WHERE key NOT IN ('features', 'history')")
    assert readers.run("send").code == 0
    assert sent_for_you(readers) == expected_for_you(readers, ADDRESSES)
    with open_store(config.database, now=NOW) as store:
        kept = store.db.execute("SELECT COUNT(*) FROM ranking_rows")[0][0]
    assert kept > 2  # (made again, and kept for the next sender)


def test_an_idle_run_writes_the_site_again_when_a_page_is_missing_or_a_template_changed(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[2])
    assert project.run("run").code == 0
    site = project.root / "site"
    page = next((site / "archive").glob("2026-*.html"))
    page.unlink()
    assert project.run("run").code == 0
    assert page.is_file()  # a page deleted by hand comes back

    templates = project.root / "my-templates"
    templates.mkdir()
    project.write_config("templates: my-templates\n")
    assert project.run("run").code == 0  # (a setting changed: written again, as it was)
    index = site / "index.html"
    assert "Archive of my own" not in index.read_text(encoding="utf-8")
    layout = (Path(__file__).parent.parent / "templates" / "layout.html.j2").read_text(encoding="utf-8")
    (templates / "layout.html.j2").write_text(layout.replace("<body", "<!-- Archive of my own --><body", 1))
    assert project.run("run").code == 0
    assert "Archive of my own" in index.read_text(encoding="utf-8")


def test_publish_always_writes_the_site_and_a_run_after_it_leaves_it(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[2])
    assert project.run("run").code == 0
    index = project.root / "site" / "index.html"
    index.write_text("changed by hand", encoding="utf-8")
    assert project.run("run").code == 0
    assert index.read_text(encoding="utf-8") == "changed by hand"  # (nothing the site is built from changed)
    assert project.run("publish").code == 0
    assert index.read_text(encoding="utf-8") != "changed by hand"


def test_worker_processes_rank_readers_from_the_rows_they_inherit_and_the_sender_ranks_the_others(
    readers: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digest.mail.assemblers
    import digest.mail.deliver

    monkeypatch.setattr(digest.mail.deliver, "ASSEMBLE_ALONE", 0)  # (a pool of workers even for a few readers)
    monkeypatch.setattr(digest.mail.assemblers, "default_processes", lambda: 1)
    config = load_config(readers.config, readers.environ)
    with open_store(config.database, now=NOW) as store:  # one reader's like was never made a row
        subscriber = store.subscribers.by_email("votes@example.org")
        assert subscriber is not None
        key = vote_key(store.profiles.profile(subscriber).likes[0])
        store.db.execute("DELETE FROM ranking_rows WHERE name = ?", (key,))
    assert readers.run("send").code == 0
    assert sent_for_you(readers) == expected_for_you(readers, ADDRESSES)


def test_a_weeks_mails_are_prepared_by_the_publish_of_its_last_digest_and_sent_without_scikit_learn(
    project: Project,
) -> None:
    from digest.ranking.grouping import combined

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.write_config("schedule:\n  send: '0 7 * * *'\n  misfire_grace: 3h\n  weekly: mon\n")
    saturday, sunday = dt.datetime(2026, 11, 21, 3, tzinfo=dt.UTC), dt.datetime(2026, 11, 22, 3, tzinfo=dt.UTC)
    weekly = ["--frequency", "weekly"]
    assert project.run("subscribers", "add", "plain@example.org", *weekly, now=saturday).code == 0
    assert project.run("subscribers", "add", "votes@example.org", *weekly, "--interests", "diffusion").code == 0
    assert project.run("subscribers", "like", "votes@example.org", "A paper nobody listed", now=saturday).code == 0
    for dump, day in ((EXAMPLE_DUMPS[2], saturday), (EXAMPLE_DUMPS[0], sunday)):
        project.drop(dump)
        assert project.run("run", now=day).code == 0
    monday = dt.datetime(2026, 11, 23, 7, 5, tzinfo=dt.UTC)
    result, modules = cold(project, "run", now=monday)
    assert result.returncode == 0, result.stderr
    assert not modules & set(RANKING), sorted(modules & set(RANKING))
    sent = sent_for_you(project)
    assert sorted(sent) == ["plain@example.org", "votes@example.org"]
    config = load_config(project.config, project.environ)
    with open_store(config.database, now=monday) as store:
        week = store.weeks.all()[0]
        digest = combined(store, week.week, week.digest_ids, published_at=week.due_at)
        assert len(week.digest_ids) == 2
        assert sent["votes@example.org"] == fresh_for_you(store, digest, "votes@example.org", 20)
