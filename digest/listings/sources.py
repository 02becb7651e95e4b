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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
    results = []
    headers = {"user-agent": user_agent(config), "accept": "application/json, application/xml, text/*;q=0.8"}
    with httpx.Client(headers=headers, follow_redirects=True, transport=transport) as client:
        for source in config.sources:
            results.append(fetch_one(store, config, source, client=client, now=now))
    return results


def fetch_one(
    store: Store, config: Config, source: SourceConfig, *, client: httpx.Client, now: dt.datetime
) -> FetchResult:
    state = store.sources.get(source.name, source.url)
    try:
        answer = _get(client, source, state)
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


def _get(client: httpx.Client, source: SourceConfig, state: SourceState) -> tuple[bytes, str | None, str | None] | None:
    """The body and its validators; None for 304. Raises FetchError with the reason."""
    headers = {}
    if state.etag:
        headers["if-none-match"] = state.etag
    if state.last_modified:
        headers["if-modified-since"] = state.last_modified
    seconds = source.timeout.total_seconds()
    try:
        with client.stream("GET", source.url, headers=headers, timeout=seconds) as response:
            if response.status_code == 304:
                return None
            if response.status_code >= 400:
                raise FetchError(f"the server answered {response.status_code} {response.reason_phrase}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > source.max_size:
                    raise FetchError(f"the answer is larger than max_size ({_size(source.max_size)}); stopped reading")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("etag"), response.headers.get("last-modified")
    except httpx.TimeoutException:
        raise FetchError(f"no complete answer within {seconds:g} s (timeout)") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"cannot connect: {_first_line(exc)}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"the fetch failed: {_first_line(exc)}") from None


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
