"""`digest serve` against what link scanners, crafted URLs, slow clients and proxies do."""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web import Served, _subscribe, served, start_served

from digest.tokens import make_token, secret_key

from conftest import SECRET
from smtp_server import SMTPServer

KEY = secret_key(value=SECRET)
__all__ = ["served"]  # the fixture, shared with test_web
ODD_METHODS = ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "PROPFIND"]


def subscriber_id(served: Served, address: str) -> int:
    from digest.store import open_store

    with open_store(f"sqlite:///{served.project.root / 'digest.db'}", now=dt.datetime.now(dt.UTC)) as store:
        subscriber = store.subscribers.by_email(address)
    assert subscriber is not None
    return subscriber.id


@pytest.mark.parametrize("method", ["GET", *ODD_METHODS])
def test_only_post_confirms_or_unsubscribes(served: Served, method: str) -> None:
    """Link scanners send GET, HEAD and more to every link of a mail: none of it may change anything."""
    served.project.run("subscribers", "add", "pending@example.org", "--pending")
    served.project.run("subscribers", "add", "reader@example.org")
    pending, reader = subscriber_id(served, "pending@example.org"), subscriber_id(served, "reader@example.org")
    confirm = make_token(KEY, "confirm", pending, "pending@example.org", issued=dt.datetime.now(dt.UTC))
    leave = make_token(KEY, "unsubscribe", reader, "reader@example.org")
    for path in (f"confirm/{confirm}", f"unsubscribe/{leave}", "subscribe"):
        response = httpx.request(method, served.base + path)
        if method in ("GET", "HEAD"):
            assert response.status_code == 200
        else:
            assert response.status_code == 405, (path, response.status_code)
            assert "POST" in response.headers.get("allow", "")
    assert served.status_of("pending@example.org") == "pending"
    assert served.status_of("reader@example.org") == "active"


@pytest.mark.parametrize("path", ["", "index.html", "feed.xml", "atom.xml", "archive/2026-03-12.html", "subscribe"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_head_carries_the_real_length(served: Served, path: str, encoding: str) -> None:
    headers = {"accept-encoding": encoding}
    head = httpx.head(served.base + path, headers=headers)
    get = httpx.get(served.base + path, headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == int(get.headers["content-length"]) > 0
    assert head.headers.get("content-encoding") == get.headers.get("content-encoding")


@pytest.mark.parametrize(
    "path",
    [
        "unsubscribe/%C2%B2.AAAAAAAAAAAAAAAAAAAAAAAA",  # a superscript two is a digit to str.isdigit
        "unsubscribe/%D9%A5.AAAAAAAAAAAAAAAAAAAAAAAA",  # an Arabic-Indic five, which int() reads as 5
        "unsubscribe/12345678901234567890123.AAAAAAAAAAAAAAAAAAAAAAAA",  # beyond any database integer
        "confirm/1." + "9" * 400 + ".AAAAAAAAAAAAAAAAAAAAAAAA",
        "confirm/1.99999999999.AAAAAAAAAAAAAAAAAAAAAAAA",
        "unsubscribe/1.%00%00",
        "unsubscribe/" + "1" * 300,
    ],
)
def test_a_crafted_token_is_a_400_page(served: Served, path: str) -> None:
    for method in ("GET", "POST"):
        response = httpx.request(method, served.base + path)
        assert response.status_code == 400, (method, path, response.status_code)
        assert "This link does not work" in response.text


@pytest.mark.parametrize("path", ["archive/%00", "index.html%00.txt", "%00", "archive/..%2F..%2Fetc%2Fpasswd"])
def test_a_crafted_path_is_a_404(served: Served, path: str) -> None:
    response = httpx.get(served.base + path)
    assert response.status_code == 404


def test_a_chunked_body_over_the_limit_is_a_413(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 1024  # 64 KB, over the 16 KB limit, with no Content-Length

    form = {"content-type": "application/x-www-form-urlencoded"}
    response = httpx.post(served.base + "subscribe", content=chunks(), headers=form)
    assert response.status_code == 413


def test_subscribe_takes_as_long_for_a_known_address_as_for_a_new_one(tmp_path: Path, smtp_server: SMTPServer) -> None:
    """No timing difference to tell a subscriber from a stranger: the mail is sent after the answer."""
    with start_served(tmp_path, smtp_server, web="  subscribe_per_ip: 1000\n") as served:
        served.project.run("subscribers", "add", "known@example.org")
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        with httpx.Client() as client:
            for number in range(60):
                for kind, address in (("known", "known@example.org"), ("unknown", f"new{number}@example.org")):
                    started = time.perf_counter()
                    assert _subscribe(served, client, address).status_code == 200
                    times[kind].append(time.perf_counter() - started)
        known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
        print(f"subscribe median: known {known * 1000:.2f} ms, unknown {unknown * 1000:.2f} ms")
        assert abs(known - unknown) <= max(0.5 * min(known, unknown), 0.003)
        assert len(served.mails_to("new59@example.org", expect=1)) == 1  # the mails do go out, afterwards


def test_a_hung_mail_relay_slows_no_page(tmp_path: Path, smtp_server: SMTPServer) -> None:
    relay = socket.socket()  # accepts connections (the kernel does), never says a word
    relay.bind(("127.0.0.1", 0))
    relay.listen(100)
    try:
        url = f"smtp://127.0.0.1:{relay.getsockname()[1]}"
        with start_served(tmp_path, smtp_server, smtp_url=url) as served:
            served.project.run("subscribers", "add", "reader@example.org")
            leave = make_token(KEY, "unsubscribe", subscriber_id(served, "reader@example.org"), "reader@example.org")
            with httpx.Client() as client:
                for number in range(35):
                    started = time.monotonic()
                    assert _subscribe(served, client, f"someone{number}@example.org").status_code == 200
                    assert time.monotonic() - started < 5
            started = time.monotonic()
            assert httpx.get(served.base + f"unsubscribe/{leave}", timeout=10).status_code == 200
            assert time.monotonic() - started < 5
    finally:
        relay.close()


def test_a_client_that_trickles_its_headers_is_cut_off(tmp_path: Path, smtp_server: SMTPServer) -> None:
    with start_served(tmp_path, smtp_server, web="  header_timeout: 1s\n") as served:
        port = int(served.base.rsplit(":", 1)[1].strip("/"))
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        for client in clients:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            client.settimeout(0.2)
        started = time.monotonic()
        open_ones = set(range(len(clients)))
        while open_ones and time.monotonic() - started < 8:
            for number in list(open_ones):
                try:
                    clients[number].sendall(b"X")  # one more byte of a header that never ends
                    if clients[number].recv(1) == b"":
                        open_ones.discard(number)
                except TimeoutError:
                    continue
                except OSError:
                    open_ones.discard(number)
            time.sleep(0.2)
        for client in clients:
            client.close()
        assert not open_ones, f"{len(open_ones)} trickling connections still open after 8 s"
        assert httpx.get(served.base).status_code == 200  # and honest clients are still served


@pytest.mark.parametrize("trusted", [True, False])
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    tmp_path: Path, smtp_server: SMTPServer, trusted: bool
) -> None:
    web = "  subscribe_per_ip: 2\n" + ("  trusted_proxies: [127.0.0.1]\n" if trusted else "")
    with start_served(tmp_path, smtp_server, web=web) as served, httpx.Client() as client:

        def subscribe_as(client_address: str, number: int) -> int:
            form = client.get(served.base + "subscribe")
            csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            return client.post(
                served.base + "subscribe",
                data={"email": f"r{number}@example.org", "csrf": csrf},
                headers={"x-forwarded-for": f"{client_address}, 127.0.0.1"},
            ).status_code

        first = [subscribe_as("203.0.113.7", number) for number in range(3)]
        other = subscribe_as("198.51.100.9", 9)
    assert first == [200, 200, 429]
    # Behind a trusted proxy, another client has its own allowance; from anyone else the header is ignored.
    assert other == (200 if trusted else 429)
