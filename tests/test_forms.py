"""What a new reader meets in the web forms: interest terms that rank, filters they can see and remove,
and forms that say why they cannot work over plain http."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_preferences import listed, post, preferences_link
from test_web import Served, start_served

from conftest import SECRET, Project
from smtp_server import SMTPServer


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def profile_of(served: Served, address: str) -> dict[str, object]:
    rows = [json.loads(line) for line in served.project.run("subscribers", "list", "--json").lines]
    return next(row for row in rows if row["email"] == address)


def confirm(served: Served, address: str) -> None:
    (mail,) = served.mails_to(address, expect=1)
    (link,) = re.findall(r"(http://\S+/confirm/\S+)", mail.get_content())
    with httpx.Client() as client:
        page = client.get(link)
        assert client.post(link, data={"csrf": ""}).status_code == 200, page.text


def test_the_subscribe_form_takes_interest_terms_that_rank_and_leave_nothing_out(served: Served) -> None:
    with httpx.Client() as client:
        form = client.get(served.base + "subscribe")
        assert "Your interests" in form.text and 'name="interests"' in form.text
        assert "Only papers about" not in form.text and 'name="include"' not in form.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        answer = client.post(
            served.base + "subscribe",
            data={"email": "reader@example.org", "interests": "Speech, audio", "csrf": csrf.group(1)},
        )
    assert answer.status_code == 200
    confirm(served, "reader@example.org")
    profile = profile_of(served, "reader@example.org")
    assert profile["status"] == "active"
    assert profile["interests"] == ["audio", "speech"] and profile["include"] == [] and profile["exclude"] == []
    assert served.project.run("send").code == 0
    mail = served.mails_to("reader@example.org", expect=2)[-1]
    assert mail["Subject"].startswith("89 new papers")  # every paper of the digest: interests hide nothing


def test_the_preferences_page_shows_a_hard_filter_and_removes_it(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org", "--include", "language, speech", "--exclude", "quantum")
    run("send")
    url = preferences_link(served, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        assert "Only papers about: language, speech" in page.text and "Never papers about: quantum" in page.text
        removed = post(client, page, url, action="remove-filter", filter="include")
        assert "no longer leaves out papers outside your topics" in removed.text
        assert "Your next mail follows them." in removed.text
        assert "Only papers about" not in removed.text and "Never papers about: quantum" in removed.text
        again = post(client, removed, url, action="remove-filter", filter="include")
        assert "Nothing changed." in again.text and "Your next mail follows them." not in again.text
    profile = profile_of(served, "ada@example.org")
    assert profile["include"] == [] and profile["exclude"] == ["quantum"]


def test_an_expired_form_does_not_say_the_next_mail_follows(served: Served) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    served.project.run("send")
    url = preferences_link(served, "ada@example.org")
    expired = httpx.post(url, data={"csrf": "1.abc", "action": "save", "interests": "x", "frequency": "weekly"})
    assert "nothing was changed" in expired.text
    assert "Your next mail follows them." not in expired.text
    assert "daily" in listed(served, "ada@example.org")
    assert "https" not in expired.text  # a plain-http site.url: cookies are not Secure, nothing to explain


def test_form_cookies_are_secure_only_for_an_https_site(served: Served) -> None:
    cookie = httpx.get(served.base + "subscribe").headers["set-cookie"]
    assert "digest_csrf=" in cookie and "secure" not in cookie.lower()  # site.url is http: plain http works
    with httpx.Client() as client:
        form = client.get(served.base + "subscribe")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        sent = client.post(served.base + "subscribe", data={"email": "lan@example.org", "csrf": csrf.group(1)})
    assert sent.status_code == 200 and "Check your inbox" in sent.text


def test_an_https_site_served_over_plain_http_says_why_its_forms_fail(tmp_path: Path, smtp_server: SMTPServer) -> None:
    with start_served(tmp_path, smtp_server, site_url="https://digest.example.org/") as served:
        with httpx.Client() as client:
            form = client.get(served.base + "subscribe")
            assert "secure" in form.headers["set-cookie"].lower()
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            # A browser on plain http keeps no Secure cookie: the post comes without it.
            client.cookies.clear()
            refused = client.post(served.base + "subscribe", data={"email": "lan@example.org", "csrf": csrf.group(1)})
        assert refused.status_code == 400
        assert "work only over https" in refused.text and "https://digest.example.org/" in refused.text


def test_serve_says_at_start_that_an_https_sites_forms_need_https(project: Project) -> None:
    import socket

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    with socket.create_server(("127.0.0.1", 0)) as taken:  # it says so, then stops: the port is taken
        result = project.run("serve", "--verbose", "--port", str(taken.getsockname()[1]))
    assert "forms (subscribe, votes, preferences) work at https://digest.example.org/ only, over https" in (
        result.stdout
    )
