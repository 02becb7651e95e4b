"""The web service: subscribe, confirm, one-click unsubscribe, and the archive and feeds over HTTP.

A Starlette application over the same database and site folder:

* ``GET /`` and every file of ``site.dir`` (the archive, ``feed.xml``, ``atom.xml``), with ETag
  and Last-Modified, answering 304 to a conditional GET;
* ``GET /subscribe`` a form; ``POST /subscribe`` creates a pending subscriber and mails a
  confirmation link (double opt-in). It answers the same page whether or not the address is
  known, is rate-limited per IP and per address, and is protected against CSRF (a signed
  token bound to a SameSite cookie);
* ``GET /confirm/TOKEN`` shows a confirm button; only the ``POST`` activates (link scanners
  do not confirm anyone); confirm tokens expire;
* ``POST /unsubscribe/TOKEN`` (body ``List-Unsubscribe=One-Click``, RFC 8058) unsubscribes at
  once: no cookie, no login, no redirect, 200, idempotent. ``GET`` shows one button that does
  the same. A forged, expired or malformed token gets a 400 page that says nothing of anyone.

Every page is autoescaped and sent with a strict Content-Security-Policy (no script at all),
and request bodies are bounded.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.config import Config
from digest.errors import DigestError
from digest.pipeline import renderer_for
from digest.store import Store
from digest.subscribers import AddressError, normalise_address, parse_terms
from digest.tokens import Action, TokenError, verify_token

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # tokens live in URLs: never leak them onwards
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
FEED_TYPES = {"feed.xml": "application/rss+xml; charset=utf-8", "atom.xml": "application/atom+xml; charset=utf-8"}
CSRF_COOKIE = "digest_csrf"
CSRF_MAX_AGE = 2 * 3600


# -- request bodies ------------------------------------------------------------------------------


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes (413), whether announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await Response("Request body too large\n", status_code=413, headers=SECURITY_HEADERS)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await Response("Request body too large\n", status_code=413, headers=SECURITY_HEADERS)(scope, receive, send)


class BodyTooLarge(Exception):
    pass


# -- rate limits -------------------------------------------------------------------------------------


class RateLimiter:
    """At most ``limit`` events per key within ``window`` seconds (in memory, per process)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.events: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            if len(self.events) > 100_000:  # forget the idle ones rather than grow without bound
                self.events = {k: v for k, v in self.events.items() if v and v[-1] > now - self.window}
            times = self.events.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True


# -- CSRF --------------------------------------------------------------------------------------------


def _sign(key: bytes, text: str) -> str:
    digest = hmac.new(key, f"digest:csrf:{text}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_pair(key: bytes, now: float) -> tuple[str, str]:
    """(cookie value, form field): the field signs the cookie's nonce and the time."""
    nonce = secrets.token_urlsafe(18)
    stamp = str(int(now))
    return nonce, f"{stamp}.{_sign(key, f'{nonce}:{stamp}')}"


def csrf_valid(key: bytes, cookie: str | None, field: str | None, now: float) -> bool:
    if not cookie or not field or "." not in field:
        return False
    stamp, _, signature = field.partition(".")
    if not stamp.isdigit() or now - int(stamp) > CSRF_MAX_AGE:
        return False
    return hmac.compare_digest(_sign(key, f"{cookie}:{stamp}"), signature)


# -- static files -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # the body compressed, when that is worth it
    etag: str
    last_modified: str
    modified: dt.datetime
    content_type: str


class SiteFiles:
    """Files of site.dir, cached in memory by (path, mtime, size) so a busy feed costs no disk reads."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.cache: dict[Path, tuple[tuple[int, int], StaticFile]] = {}
        self.paths: set[str] = set()  # request paths known to name a cached file
        self.lock = threading.Lock()
        self.loading = threading.Lock()

    def _path(self, relative: str) -> Path | None:
        if relative in ("", "/") or relative.endswith("/"):
            relative += "index.html"
        path = (self.root / relative.lstrip("/")).resolve()
        if self.root not in path.parents or any(part.startswith(".") for part in path.relative_to(self.root).parts):
            return None
        return path

    def cached(self, relative: str) -> StaticFile | None:
        """The cached file when it is still current on disk; None when it must be (re)read."""
        path = self._path(relative) if relative in self.paths else None
        if path is None:
            return None
        with self.lock:
            cached = self.cache.get(path)
        if cached is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        return cached[1] if cached[0] == (info.st_mtime_ns, info.st_size) else None

    def get(self, relative: str) -> StaticFile | None:
        with self.loading:  # one reader at a time: a burst of misses reads and compresses a file once
            fresh = self.cached(relative)
            return fresh if fresh is not None else self._load(relative)

    def _load(self, relative: str) -> StaticFile | None:
        path = self._path(relative)
        if path is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        with self.lock:
            cached = self.cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = path.read_bytes()
        modified = dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC).replace(microsecond=0)
        compressible = path.suffix in (".html", ".xml", ".css", ".svg", ".txt") and len(body) > 1024
        item = StaticFile(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0) if compressible else None,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=formatdate(modified.timestamp(), usegmt=True),
            modified=modified,
            content_type=FEED_TYPES.get(path.name) or CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        )
        with self.lock:
            self.cache[path] = (stamp, item)
            self.paths.add(relative)
        return item


def not_modified(request: Request, item: StaticFile) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/").replace('-gz"', '"') for tag in match.split(",")}
        return item.etag in tags or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return item.modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


# -- the application -----------------------------------------------------------------------------------


class WebApp:
    def __init__(
        self,
        config: Config,
        *,
        open_store: Callable[[], Store],
        secret: bytes,
        send_confirmation: Callable[[Store, Any, dt.datetime], None],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.open_store = open_store
        self.secret = secret
        self.send_confirmation = send_confirmation
        self.clock = clock
        self.renderer = renderer_for(config)
        self.files = SiteFiles(config.site.dir)
        self.per_ip = RateLimiter(config.web.subscribe_per_ip, 3600)
        self.per_address = RateLimiter(config.web.subscribe_per_address, 86400)
        self.local = threading.local()

    # Each server thread keeps one database connection.
    def store(self) -> Store:
        store: Store | None = getattr(self.local, "store", None)
        if store is None:
            store = self.local.store = self.open_store()
        return store

    def page(
        self, template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> Response:
        html = self.renderer.render(f"web/{template}", root="/", **context)
        return HTMLResponse(
            html, status_code=status, headers={**SECURITY_HEADERS, "cache-control": "no-store", **(headers or {})}
        )

    def bad_link(self) -> Response:
        return self.page(
            "message.html.j2",
            status=400,
            title="This link does not work",
            text="The link is incomplete, has expired, or was not made by this site. Nothing was changed. "
            "If you copied it from an email, make sure the whole link was copied.",
        )

    # -- subscribing --

    def subscribe_form(
        self, request: Request, *, error: str | None = None, email: str = "", status: int = 200
    ) -> Response:
        cookie, field = csrf_pair(self.secret, time.time())
        response = self.page("subscribe.html.j2", status=status, csrf=field, error=error, email=email)
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            max_age=CSRF_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=self.config.site.url.startswith("https://"),
            path="/subscribe",
        )
        return response

    async def subscribe(self, request: Request) -> Response:
        if request.method == "GET":
            return self.subscribe_form(request)
        form = await request.form()
        field = form.get("csrf")
        if not csrf_valid(
            self.secret, request.cookies.get(CSRF_COOKIE), field if isinstance(field, str) else None, time.time()
        ):
            return self.subscribe_form(request, status=400, error="The form had expired. Please send it again.")
        raw_email = form.get("email")
        raw_terms = form.get("include")
        email_text = raw_email if isinstance(raw_email, str) else ""
        try:
            address = normalise_address(email_text[:320])
        except AddressError:
            return self.subscribe_form(
                request,
                status=400,
                email=email_text[:320],
                error="That does not look like an email address. Please check it.",
            )
        client = request.client.host if request.client else "unknown"
        if not self.per_ip.allow(client):
            return self.page(
                "message.html.j2",
                status=429,
                title="Too many requests",
                text="Please wait a while before trying again.",
            )
        include = parse_terms(raw_terms[:500] if isinstance(raw_terms, str) else None)
        if self.per_address.allow(address):
            await _in_thread(self._subscribe, address, include)
        # The same answer whether the address was new, pending, active or rate-limited.
        return self.page(
            "message.html.j2",
            title="Check your inbox",
            text=f"If {address} can receive mail, a message with a confirmation link is on its way. "
            "Open it and press the button to start receiving the digest.",
        )

    def _subscribe(self, address: str, include: tuple[str, ...]) -> None:
        store = self.store()
        now = self.clock()
        with store.transaction(exclusive=True):
            existing = store.subscribers.by_email(address)
            if existing is not None and existing.status == "active":
                return  # already receiving it: nothing to confirm, and nothing to tell a stranger
            subscriber, _ = store.subscribers.add(address, status="pending", include=include, now=now)
        try:
            self.send_confirmation(store, subscriber, now)
        except DigestError as exc:
            log.warning("confirmation mail to %s not sent: %s", address, exc.one_line())

    # -- confirming --

    def _verified(self, action: Action, token: str, *, max_age: dt.timedelta | None = None) -> int | None:
        store = self.store()
        try:
            return verify_token(
                self.secret,
                action,
                token,
                store.subscribers.email_of,
                now=self.clock(),
                max_age=max_age,
            )
        except TokenError:
            return None

    async def confirm(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber_id = await _in_thread(self._verified, "confirm", token, max_age=self.config.web.confirm_max_age)
        if subscriber_id is None:
            return self.bad_link()
        if request.method == "GET":
            return self.page("confirm.html.j2", action=f"/confirm/{token}")
        await _in_thread(self._activate, subscriber_id)
        return self.page(
            "message.html.j2",
            title="You are subscribed",
            text="Thank you. The next digest will reach you; every one has a one-click unsubscribe link.",
        )

    def _activate(self, subscriber_id: int) -> None:
        store = self.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is not None and subscriber.status != "active":
            store.subscribers.set_status(subscriber_id, "active", now=self.clock())

    # -- unsubscribing --

    async def unsubscribe(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber_id = await _in_thread(self._verified, "unsubscribe", token)
        if subscriber_id is None:
            return self.bad_link()
        if request.method == "GET":
            return self.page("unsubscribe.html.j2", action=f"/unsubscribe/{token}")
        await _read_form(request)  # List-Unsubscribe=One-Click, urlencoded or multipart; any body will do
        await _in_thread(self._unsubscribe, subscriber_id)
        return self.page(
            "message.html.j2",
            title="You are unsubscribed",
            text="You will receive no more digests at this address. "
            "Changed your mind? You can subscribe again at any time.",
            link=("Subscribe again", "/subscribe"),
        )

    def _unsubscribe(self, subscriber_id: int) -> None:
        self.store().subscribers.set_status(subscriber_id, "unsubscribed", now=self.clock())

    # -- the site --

    async def site(self, request: Request) -> Response:
        # A cached file costs one stat(); only a changed one is read, in a worker thread.
        item = self.files.cached(request.url.path)
        if item is None:
            item = await _in_thread(self.files.get, request.url.path)
        if item is None:
            return self.page("message.html.j2", status=404, title="Not found", text="There is no page here.")
        gzipped = item.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "")
        headers = {
            **SECURITY_HEADERS,
            "etag": item.etag[:-1] + '-gz"' if gzipped else item.etag,
            "last-modified": item.last_modified,
            "cache-control": "public, max-age=300",
            "vary": "Accept-Encoding",
        }
        if not_modified(request, item):
            return Response(status_code=304, headers=headers)
        body = item.gzipped if gzipped and item.gzipped is not None else item.body
        if gzipped:
            headers["content-encoding"] = "gzip"
        return Response(body if request.method != "HEAD" else b"", headers=headers, media_type=item.content_type)

    def application(self) -> ASGIApp:
        for hot in ("/", "/index.html", "/feed.xml", "/atom.xml"):
            self.files.get(hot)  # warm the cache before the first reader arrives
        app = Starlette(
            routes=[
                Route("/subscribe", self.subscribe, methods=["GET", "POST"]),
                Route("/confirm/{token}", self.confirm, methods=["GET", "POST"]),
                Route("/unsubscribe/{token}", self.unsubscribe, methods=["GET", "POST"]),
                Route("/{path:path}", self.site, methods=["GET", "HEAD"]),
            ],
        )
        return BodyLimit(app, self.config.web.max_body)


async def _read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    body = await request.body()
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


async def _in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args, **kwargs)


def serve(app: ASGIApp, *, host: str, port: int) -> None:
    import socket

    import uvicorn

    try:  # a clear one-line error for a taken port, before uvicorn starts
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise DigestError(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port or --host"
        ) from None

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=os.environ.get("DIGEST_SERVE_LOG_LEVEL", "warning"),
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
