"""What a new operator and a new weekly reader see of weekly mails: one line a week, the next week as a run
would see it, and a personal feed with the week so far."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import re

import httpx
from test_preferences import MONDAY_SEVEN

from digest.tokens import make_token

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project

SATURDAY = dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC)


def test_a_weeks_mails_are_one_line_however_many_groups_they_go_in(project: Project) -> None:
    run = project.run
    run("subscribers", "add", "weekly@example.org", "--frequency", "weekly")
    run("subscribers", "add", "switcher@example.org")
    project.drop(EXAMPLE_DUMPS[0])
    assert run("run", now=SATURDAY).code == 0
    run("subscribers", "set", "switcher@example.org", "--frequency", "weekly")  # its week holds one day less
    project.drop(EXAMPLE_DUMPS[1])
    assert run("run", now=SATURDAY + dt.timedelta(days=1)).code == 0
    result = run("run", "--verbose", now=MONDAY_SEVEN + dt.timedelta(minutes=5))
    assert result.code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("digest week-")]
    assert lines == ["digest week-2026-11-23: 2 sent, 0 failed, 0 to retry later, 0 skipped by filters"]


def test_status_says_a_week_due_now_is_next_as_run_dry_run_does(project: Project) -> None:
    run = project.run
    run("subscribers", "add", "weekly@example.org", "--frequency", "weekly")
    project.drop(EXAMPLE_DUMPS[0])
    assert run("run", now=SATURDAY).code == 0
    now = MONDAY_SEVEN + dt.timedelta(minutes=5)
    assert "would queue this week's weekly mail for 1 weekly reader(s)" in run("run", "--dry-run", now=now).stdout
    weekly = json.loads(run("status", "--json", now=now).stdout)["weekly"]
    assert weekly["next"] == "2026-11-23T07:00:00+00:00" and weekly["due_now"] is True
    assert "next 2026-11-23 07:00 UTC (due now: the next run queues it)" in run("status", now=now).stdout
    assert run("run", now=now).code == 0
    weekly = json.loads(run("status", "--json", now=now).stdout)["weekly"]
    assert weekly["next"] == "2026-11-30T07:00:00+00:00" and weekly["due_now"] is False


def test_a_weekly_readers_feed_shows_the_week_so_far_before_their_first_mail(project: Project) -> None:
    """The web application in-process, on the tests' clock (the week so far depends on it)."""
    import feedparser

    from digest.config import load_config
    from digest.store import open_store
    from digest.web import WebApp

    run = project.run
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.drop(EXAMPLE_DUMPS[0])
    run("subscribers", "add", "ada@example.org", "--interests", "retrieval", "--frequency", "weekly")
    assert run("run", now=NOW).code == 0  # the day's digest is published, and held for their weekly mail
    config = load_config(project.config, project.environ)
    clock = [NOW + dt.timedelta(hours=1)]
    app = WebApp(
        config,
        open_store=lambda: open_store(config.database, now=clock[0]),
        secret=SECRET.encode(),
        send_confirmation=lambda *_: None,
        clock=lambda: clock[0],
    )
    application = app.application()

    def get(path: str) -> bytes:
        async def fetch() -> bytes:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="https://digest.example.org") as client:
                return (await client.get(path)).content

        # In a thread of its own: a browser test run earlier in this process may hold this thread's event loop.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, fetch()).result()

    preferences = f"/preferences/{make_token(SECRET.encode(), 'preferences', 1, 'ada@example.org')}"
    found = re.search(r'<p class="feed-url"><a href="https://digest.example.org([^"]+)"', get(preferences).decode())
    assert found
    parsed = feedparser.parse(get(found.group(1)))
    assert not parsed.bozo, parsed.bozo_exception
    assert len(parsed.entries) == 20  # their For you of the week so far (email.weekly_for_you)
    assert "Why: matches retrieval" in parsed.entries[0].content[0].value
    assert all(re.search(r"/archive/2026-03-12\.html#paper-\d+$", entry.link) for entry in parsed.entries)
    before = [entry.id for entry in parsed.entries]
    # The week is queued and sent at its time: the same entries (a feed reader sees no paper twice), now the week's.
    assert run("run", now=MONDAY_SEVEN).code == 0
    clock[0] = MONDAY_SEVEN + dt.timedelta(hours=1)
    after = feedparser.parse(get(found.group(1))).entries
    assert [entry.id for entry in after] == before
    assert all("/archive/week-2026-11-23.html#paper-" in entry.link for entry in after)
