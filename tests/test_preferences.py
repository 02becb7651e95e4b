"""The preferences page: reached from a real mail, changed only by POST, bad links get a 400."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_votes import html_of
from test_web import Served, start_served

from browser import screenshot_dir
from smtp_server import SMTPServer

#: The Monday after the tests' clock (NOW, a Sunday), at the default weekly time (UTC in these tests).
MONDAY_SEVEN = dt.datetime(2026, 11, 23, 7, tzinfo=dt.UTC)
TITLE = "PROP: Pre-training with Representative Words Prediction for Ad-hoc Retrieval"


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def preferences_link(served: Served, address: str) -> str:
    links = re.findall(r'href="(http[^"]+/preferences/[^"]+)"', html_of(served, address))
    assert links, "every mail links to the reader's preferences"
    return links[0]


def post(client: httpx.Client, page: httpx.Response, url: str, **fields: str) -> httpx.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return client.post(url, data={"csrf": csrf.group(1), **fields})


def listed(served: Served, address: str) -> str:
    return next(line for line in served.project.run("subscribers", "list").lines if address in line)


def test_a_get_shows_the_profile_and_changes_nothing(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org", "--interests", "speech")
    run("subscribers", "like", "ada@example.org", TITLE)
    run("send")
    url = preferences_link(served, "ada@example.org")
    for method in ("GET", "HEAD"):
        assert httpx.request(method, url).status_code == 200
    page = httpx.get(url)
    assert 'value="speech"' in page.text and TITLE.split(":")[0] in page.text and "<script" not in page.text
    assert "ada@example.org" not in page.text  # the page never shows the address
    assert "interests: speech; 1 like" in listed(served, "ada@example.org")


def test_posts_change_interests_frequency_and_votes(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org")
    run("subscribers", "like", "ada@example.org", TITLE)
    run("send")
    url = preferences_link(served, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        saved = post(client, page, url, action="save", interests="Robotics, speech", frequency="weekly")
        assert "Your interests are now: robotics, speech." in saved.text and "once a week" in saved.text
        key = re.search(r'name="vote" value="([^"]+)"', saved.text)
        assert key
        removed = post(client, saved, url, action="remove", vote=key.group(1))
        assert "Removed from your likes." in removed.text
        same = post(client, removed, url, action="save", interests="robotics, speech", frequency="weekly")
        assert "Nothing changed." in same.text
    assert "interests: robotics, speech; weekly" in listed(served, "ada@example.org")
    assert served.project.run("subscribers", "votes", "ada@example.org").lines == []


def test_a_post_without_the_pages_csrf_field_changes_nothing(served: Served) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    served.project.run("send")
    url = preferences_link(served, "ada@example.org")
    forged = httpx.post(url, data={"csrf": "1.abc", "action": "save", "interests": "x", "frequency": "weekly"})
    assert forged.status_code == 200 and "nothing was changed" in forged.text
    assert "daily" in listed(served, "ada@example.org")


@pytest.mark.parametrize("token", ["1.AAAAAAAAAAAAAAAAAAAAAAAA", "garbage", "99999.xyz", "1.2.3"])
def test_forged_tokens_get_a_400(served: Served, token: str) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    for method in ("GET", "POST"):
        response = httpx.request(method, f"{served.base}preferences/{token}", data={"interests": "x"})
        assert response.status_code == 400 and "ada@example.org" not in response.text


def test_a_reader_changes_their_preferences_in_a_browser_and_the_next_mail_follows(
    served: Served, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from conftest import EXAMPLE_DUMPS

    run = served.project.run
    run("subscribers", "add", "ada@example.org")
    run("subscribers", "like", "ada@example.org", TITLE)
    run("send")
    url = preferences_link(served, "ada@example.org")
    shots = screenshot_dir(tmp_path_factory)
    for width, scheme in ((375, "light"), (1024, "dark")):
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page.goto(url)
        page.screenshot(path=str(shots / f"preferences-{width}-{scheme}.png"), full_page=True)
        page.close()
    page = browser.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto(url)
        page.get_by_label("Interests").fill("speech, audio")
        page.get_by_label("Once a week").check()
        page.get_by_role("button", name="Save").click()
        assert page.get_by_text("Your interests are now: audio, speech.").is_visible()
        page.get_by_role("button", name=f"Remove {TITLE}").click()
        assert page.get_by_text("Removed from your likes.").is_visible()
        page.screenshot(path=str(shots / "preferences-changed-375.png"), full_page=True)
    finally:
        page.close()
    assert "interests: audio, speech; weekly" in listed(served, "ada@example.org")
    run("ingest", str(EXAMPLE_DUMPS[1]))
    run("publish")
    run("send")  # a weekly reader gets no daily mail...
    assert run("run", now=MONDAY_SEVEN + dt.timedelta(minutes=5)).code == 0  # ...but the weekly one, on Monday
    mails = served.mails_to("ada@example.org", expect=2)
    assert str(mails[-1]["Subject"]).endswith("new papers this week (2026-11-23)")
    html = str(mails[-1].get_body(("html",)).get_content())
    assert re.search(r"Why:\s+matches (audio|speech)", html)  # ranked by the new interests
    assert "like “PROP" not in html  # the removed like no longer counts


def feed_link(served: Served, address: str) -> tuple[str, httpx.Response]:
    page = httpx.get(preferences_link(served, address))
    found = re.search(r'<p class="feed-url"><a href="([^"]+)"', page.text)
    assert found
    return found.group(1), page


def test_the_personal_feed_carries_the_readers_papers_with_reasons_and_answers_304(served: Served) -> None:
    import feedparser

    run = served.project.run
    run("subscribers", "add", "ada@example.org", "--interests", "retrieval")
    run("send")
    url, _ = feed_link(served, "ada@example.org")
    response = httpx.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert len(parsed.entries) == 10  # For you of the one digest
    assert any("Retrieval" in entry.title for entry in parsed.entries[:3])
    assert "Why: matches retrieval" in parsed.entries[0].content[0].value
    assert b"ada@example.org" not in response.content
    again = httpx.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert httpx.head(url).headers["content-length"] == str(len(response.content))


def test_a_revoked_or_forged_feed_url_gets_404(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org")
    run("send")
    url, page = feed_link(served, "ada@example.org")
    assert httpx.get(url).status_code == 200
    with httpx.Client() as client:
        page = client.get(preferences_link(served, "ada@example.org"))
        revoked = post(client, page, preferences_link(served, "ada@example.org"), action="revoke-feed")
        assert "no longer works" in revoked.text
    assert httpx.get(url).status_code == 404
    new_url, _ = feed_link(served, "ada@example.org")
    assert new_url != url and httpx.get(new_url).status_code == 200
    for forged in ("1.AAAAAAAAAAAAAAAAAAAAAAAA", "garbage", "1"):
        response = httpx.get(f"{served.base}feed/{forged}")
        assert response.status_code == 404 and b"ada" not in response.content


def test_a_weekly_readers_feed_has_their_for_you_of_each_week(served: Served) -> None:
    import feedparser

    run = served.project.run
    run("subscribers", "add", "ada@example.org", "--interests", "retrieval", "--frequency", "weekly")
    assert run("run", now=MONDAY_SEVEN).code == 0  # the week's mail, with the week's digests
    url, _ = feed_link(served, "ada@example.org")
    parsed = feedparser.parse(httpx.get(url).content)
    assert not parsed.bozo, parsed.bozo_exception
    assert len(parsed.entries) == 20  # For you of the week (email.weekly_for_you)
    assert all("/archive/week-2026-11-23.html#paper-" in entry.link for entry in parsed.entries)
    assert "Why: matches retrieval" in parsed.entries[0].content[0].value
