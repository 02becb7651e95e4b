"""``digest serve`` over real HTTP, and the subscribe → confirm → unsubscribe journey in a real browser."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import screenshot_dir
from conftest import EXAMPLE_DUMPS, SECRET, Project
from smtp_server import SMTPServer, free_port


@dataclass
class Served:
    project: Project
    base: str
    smtp: SMTPServer
    process: subprocess.Popen[str]

    def mails_to(self, address: str, *, expect: int) -> list[Any]:
        """The mails ``address`` received, once ``expect`` of them have come (or 10 s have passed).

        Confirmation mails go out after the subscribe page has answered, from a background
        thread: wait for them, then a moment longer, so that an extra one would be seen.
        """
        deadline = time.monotonic() + 10

        def found() -> list[Any]:
            return [item.message for item in self.smtp.sink.received if address in item.rcpt_tos]

        while len(found()) < expect and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return found()

    def status_of(self, address: str) -> str | None:
        rows = [json.loads(line) for line in self.project.run("subscribers", "list", "--json").lines]
        return next((row["status"] for row in rows if row["email"] == address), None)


@contextlib.contextmanager
def start_served(
    root: Path,
    smtp: SMTPServer,
    *,
    web: str = "  subscribe_per_ip: 50\n",
    smtp_url: str = "",
    site_url: str = "",
    database: str = "sqlite:///digest.db",
) -> Iterator[Served]:
    """A project with a published digest, and `digest serve` running over it on a free port (at ``site_url``
    when given: the public address a proxy would serve it at)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    project = Project(root / "project", database)
    project.inbox.mkdir(parents=True)
    project.config.write_text(
        f"timezone: UTC\ninbox: inbox\ndatabase: '{database}'\n"
        f"site:\n  dir: site\n  url: {site_url or base}\n"
        "delivery:\n  outbox: outbox\n  rate: 0\n"
        "web:\n" + web,
        encoding="utf-8",
    )
    project.environ.update(DIGEST_SECRET_KEY=SECRET, DIGEST_SMTP_URL=smtp_url or smtp.url)
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(project.config), "serve", "--port", str(port)],
        env={**os.environ, **project.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(base, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"digest serve did not start: {process.communicate()[1]}")
            time.sleep(0.1)
    try:
        yield Served(project, base, smtp, process)
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def unsubscribe_url_for(served: Served, address: str) -> str:
    served.project.run("subscribers", "add", address)
    assert served.project.run("send").code == 0
    message = served.mails_to(address, expect=1)[-1]
    (url,) = re.findall(r"<(http[^>]+)>", message["List-Unsubscribe"])
    return url


# -- over HTTP ------------------------------------------------------------------------------------


def test_one_click_unsubscribe_without_cookies(served: Served) -> None:
    url = unsubscribe_url_for(served, "ada@example.org")
    assert url.startswith(served.base + "unsubscribe/")
    response = httpx.post(url, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "You are unsubscribed" in response.text
    assert served.status_of("ada@example.org") == "unsubscribed"
    again = httpx.post(url, files={"List-Unsubscribe": (None, "One-Click")})  # multipart, and a second time
    assert again.status_code == 200
    assert served.status_of("ada@example.org") == "unsubscribed"
    # The next send skips them.
    count = len(served.smtp.sink.received)
    served.project.run("ingest", str(EXAMPLE_DUMPS[1]))
    served.project.run("publish")
    served.project.run("send")
    assert len(served.smtp.sink.received) == count


def test_a_get_does_not_unsubscribe(served: Served) -> None:
    url = unsubscribe_url_for(served, "grace@example.org")
    page = httpx.get(url)
    assert page.status_code == 200 and "<button" in page.text and "<script" not in page.text
    assert served.status_of("grace@example.org") == "active"


@pytest.mark.parametrize("token", ["1.AAAAAAAAAAAAAAAAAAAAAAAA", "garbage", "99999.xyz", "1", "1.2.3.4"])
def test_forged_or_malformed_tokens_get_a_400_that_reveals_nothing(served: Served, token: str) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    for method in ("GET", "POST"):
        for action in ("unsubscribe", "confirm"):
            response = httpx.request(method, f"{served.base}{action}/{token}", data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 400
            assert "ada@example.org" not in response.text and "This link does not work" in response.text
    assert served.status_of("ada@example.org") == "active"


def test_the_feed_answers_a_conditional_get_with_304(served: Served) -> None:
    first = httpx.get(served.base + "feed.xml")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/rss+xml")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(served.base + "feed.xml", headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(served.base + "feed.xml", headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(served.base + "feed.xml", headers={"If-None-Match": '"stale"'}).status_code == 200
    assert httpx.get(served.base).status_code == 200
    assert httpx.get(served.base + "archive/2026-03-12.html").text.count("<article ") == 89
    assert httpx.get(served.base + "archive/../../schedule.yaml").status_code == 404


def test_security_headers_and_bounded_bodies(served: Served) -> None:
    page = httpx.get(served.base + "subscribe")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script at all
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"  # tokens never leave for another site
    big = httpx.post(
        served.base + "subscribe", content=b"x" * 100_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert big.status_code == 413


def test_subscribing_needs_the_forms_csrf_token(served: Served) -> None:
    forged = httpx.post(served.base + "subscribe", data={"email": "eve@example.org", "csrf": "1.abc"})
    assert forged.status_code == 400 and "expired" in forged.text
    assert served.status_of("eve@example.org") is None
    assert served.mails_to("eve@example.org", expect=0) == []


def _subscribe(served: Served, client: httpx.Client, address: str) -> httpx.Response:
    form = client.get(served.base + "subscribe")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    return client.post(served.base + "subscribe", data={"email": address, "csrf": csrf.group(1)})


def test_subscribe_answers_the_same_whether_or_not_the_address_is_known(served: Served) -> None:
    served.project.run("subscribers", "add", "known@example.org")
    with httpx.Client() as client:
        known = _subscribe(served, client, "known@example.org")
        unknown = _subscribe(served, client, "unknown@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@").replace("unknown@", "X@") == unknown.text.replace("unknown@", "X@")
    assert len(served.mails_to("unknown@example.org", expect=1)) == 1
    assert served.mails_to("known@example.org", expect=0) == []  # already active: no mail
    assert served.status_of("unknown@example.org") == "pending"


def test_subscribe_is_rate_limited_per_address(served: Served) -> None:
    with httpx.Client() as client:
        for _ in range(5):
            assert _subscribe(served, client, "often@example.org").status_code == 200
    assert len(served.mails_to("often@example.org", expect=3)) == 3  # subscribe_per_address: at most 3 a day


def test_a_bad_address_is_explained_on_the_form(served: Served) -> None:
    with httpx.Client() as client:
        response = _subscribe(served, client, "not an address")
    assert response.status_code == 400 and "does not look like an email address" in response.text


# -- in a real browser ----------------------------------------------------------------------------------


def _shot(page: Any, folder: Path, name: str) -> None:
    for width, label in ((375, "phone"), (1024, "desktop")):
        page.set_viewport_size({"width": width, "height": 760})
        page.screenshot(path=str(folder / f"web-{name}-{label}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.slow
def test_subscribe_confirm_and_unsubscribe_in_a_browser(
    served: Served, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = screenshot_dir(tmp_path_factory)
    page = browser.new_page()
    try:
        page.goto(served.base + "subscribe")
        _shot(page, shots, "subscribe")
        page.get_by_label("Email address").fill("reader@example.org")
        page.get_by_label("Your interests").fill("diffusion, language")
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        (mail,) = served.mails_to("reader@example.org", expect=1)
        assert served.status_of("reader@example.org") == "pending"

        (link,) = re.findall(r"(http://\S+/confirm/\S+)", mail.get_content())
        page.goto(link)
        _shot(page, shots, "confirm")
        assert served.status_of("reader@example.org") == "pending"  # opening the link is not confirming
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        assert served.status_of("reader@example.org") == "active"
        page.get_by_role("link", name="Set your interests and how often you get mail").click()
        page.get_by_role("heading", name="Your preferences").wait_for()

        assert served.project.run("send").code == 0
        digest_mail = served.mails_to("reader@example.org", expect=2)[-1]
        (unsubscribe,) = re.findall(r"<(http[^>]+)>", digest_mail["List-Unsubscribe"])
        page.goto(unsubscribe)
        _shot(page, shots, "unsubscribe")
        page.get_by_role("button", name="Unsubscribe").click()
        page.get_by_role("heading", name="You are unsubscribed").wait_for()
        _shot(page, shots, "unsubscribed")
        assert served.status_of("reader@example.org") == "unsubscribed"
    finally:
        page.close()
    count = len(served.smtp.sink.received)
    served.project.run("ingest", str(EXAMPLE_DUMPS[1]))
    served.project.run("publish")
    served.project.run("send")
    assert len(served.smtp.sink.received) == count  # the next send skips them


def test_pages_and_feeds_are_compressed_for_clients_that_ask(served: Served) -> None:
    import gzip as gzip_module

    plain = httpx.get(served.base + "feed.xml", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = httpx.get(served.base + "feed.xml", headers={"Accept-Encoding": "gzip"}).read()
    with httpx.stream("GET", served.base + "feed.xml", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        compressed = b"".join(response.iter_raw())
        etag = response.headers["etag"]
    assert gzip_module.decompress(compressed) == plain.content == raw
    assert len(compressed) < len(plain.content) / 2
    assert etag.endswith('-gz"') and etag != plain.headers["etag"]
    for tag in (etag, plain.headers["etag"]):
        assert httpx.get(served.base + "feed.xml", headers={"If-None-Match": tag}).status_code == 304


def test_a_taken_port_is_a_one_line_error(project: Project) -> None:
    import socket

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = project.run("serve", "--port", str(port))
    assert result.code == 1
    (line,) = result.stderr.splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line and "choose another --port" in line
