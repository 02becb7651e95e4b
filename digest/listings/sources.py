"""Fetching listings from URLs into the inbox (``sources:`` in schedule.yaml). An I/O edge.

Each source is fetched with httpx, with a conditional GET (If-None-Match and
If-Modified-Since from what the source answered last, kept in the store). A 304,
or a body identical to the last one, writes nothing. A new body is written into
the inbox atomically (under a hidden name, then renamed) as
``NAME-YYYYMMDDTHHMMSSZ.EXT``, the extension after its format, and becomes a
pending listing like any other. A timeout, a refused connection, a 4xx or 5xx
answer, or a body larger than the source's ``max_size`` (reading stops there)
is that source's failure, recorded with its reason; the others are fetched all
the same.

A source's ``timeout`` is the deadline of its whole fetch (connecting, redirects,
headers and body): a server that trickles its answer is abandoned at the deadline.
Redirects are followed (at most five) only to http(s) URLs, and never from a
public address to a loopback, private or link-local one (nor between two such
kinds), so that a compromised source cannot make the fetcher read an internal
service and publish its answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from digest import __version__
from digest.config import Config, SourceConfig
from digest.files import write_atomic
from digest.listings.formats import detect
from digest.store import Store
from digest.store.sources import SourceState

log = logging.getLogger(__name__)

FetchStatus = Literal["new", "unchanged", "failed"]
EXTENSIONS = {"json": ".json", "feed": ".xml", "text": ".txt"}
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    name: str
    status: FetchStatus
    path: Path | None = None  # the file written into the inbox, for "new"
    reason: str | None = None  # why it failed, for "failed"


class FetchError(Exception):
    """One source could not be fetched; the message says why, in a few words."""


def user_agent(config: Config) -> str:
    return f"digest/{__version__} (+{config.site.url})"


def fetch_all(
    store: Store, config: Config, *, now: dt.datetime, transport: httpx.BaseTransport | None = None
) -> list[FetchResult]:
    """Fetch every source of the configuration, in order; one failure never stops the others."""
    headers = {"user-agent": user_agent(config), "accept": "application/json, application/xml, text/*;q=0.8"}
    results = []
    for source in config.sources:
        with httpx.Client(headers=headers, follow_redirects=False, transport=transport) as client:
            results.append(fetch_one(store, config, source, client=client, now=now))
    return results


def fetch_one(
    store: Store, config: Config, source: SourceConfig, *, client: httpx.Client, now: dt.datetime
) -> FetchResult:
    state = store.sources.get(source.name, source.url)
    try:
        answer = _get_within(client, source, state)
    except FetchError as exc:
        store.sources.failed(state, error=str(exc), now=now)
        log.debug("%s: %s", source.name, exc)
        return FetchResult(source.name, "failed", reason=str(exc))
    if answer is None:  # 304 Not Modified
        store.sources.succeeded(
            state, etag=state.etag, last_modified=state.last_modified, body_sha256=state.body_sha256, now=now
        )
        return FetchResult(source.name, "unchanged")
    body, etag, last_modified = answer
    digest = hashlib.sha256(body).hexdigest()
    path = None
    if digest != state.body_sha256:
        kind = detect(body[:64].decode("utf-8", "replace").lstrip("\ufeff"))
        path = config.inbox / f"{source.name}-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{EXTENSIONS[kind]}"
        write_atomic(path, body)
    store.sources.succeeded(state, etag=etag, last_modified=last_modified, body_sha256=digest, now=now)
    return FetchResult(source.name, "new" if path else "unchanged", path=path)


Answer = tuple[bytes, str | None, str | None] | None


def _get_within(client: httpx.Client, source: SourceConfig, state: SourceState) -> Answer:
    """:func:`_get` within the source's timeout, all of it: past the deadline its connection is closed."""
    seconds = source.timeout.total_seconds()
    outcome: list[Answer] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(_get(client, source, state, seconds))
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=work, name=f"digest-fetch-{source.name}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        client.close()  # the trickling answer's connection: the worker's read fails and it ends
        worker.join(5)
        raise FetchError(f"no complete answer within {seconds:g} s (timeout)")
    if failure:
        raise failure[0]
    return outcome[0]


def _get(client: httpx.Client, source: SourceConfig, state: SourceState, seconds: float) -> Answer:
    """The body and its validators; None for 304. Raises FetchError with the reason."""
    headers = {}
    if state.etag:
        headers["if-none-match"] = state.etag
    if state.last_modified:
        headers["if-modified-since"] = state.last_modified
    url = source.url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            with client.stream("GET", url, headers=headers, timeout=seconds) as response:
                if response.status_code in (301, 302, 303, 307, 308):
                    url = _redirect(source.url, url, response.headers.get("location", ""))
                    continue
                if response.status_code == 304:
                    return None
                if response.status_code >= 400:
                    raise FetchError(f"the server answered {response.status_code} {response.reason_phrase}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > source.max_size:
                        raise FetchError(
                            f"the answer is larger than max_size ({_size(source.max_size)}); stopped reading"
                        )
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("etag"), response.headers.get("last-modified")
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException:
        raise FetchError(f"no complete answer within {seconds:g} s (timeout)") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"cannot connect: {_first_line(exc)}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"the fetch failed: {_first_line(exc)}") from None


def _redirect(configured: str, current: str, location: str) -> str:
    """Where a redirect leads, when it may be followed; FetchError saying why not otherwise."""
    target = urljoin(current, location.strip())
    if not location.strip() or urlsplit(target).scheme not in ("http", "https"):
        raise FetchError(f"redirected to {target[:200]!r}, not an http(s) URL; not followed")
    home, there = address_kind(urlsplit(configured).hostname or ""), address_kind(urlsplit(target).hostname or "")
    if there != "public" and there != home:
        raise FetchError(
            f"redirected to {target[:200]} (a {there} address) from a source that is not one; not followed"
            " (set the source's url to where it should be read from)"
        )
    return target


def address_kind(host: str) -> str:
    """``public``, or the kind of internal address ``host`` is (or resolves to): ``loopback``, ``link-local``,
    ``private`` or ``reserved``; a name that does not resolve is ``public`` (its fetch fails anyway)."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return "public"
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    kinds = [_kind(address) for address in addresses]
    return next((kind for kind in kinds if kind != "public"), "public")


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    return "public"


def _size(count: int) -> str:
    for unit, step in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if count >= step:
            return f"{count / step:g} {unit}"
    return f"{count} bytes"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fetched_paths(results: Sequence[FetchResult]) -> list[Path]:
    return [result.path for result in results if result.path is not None]
