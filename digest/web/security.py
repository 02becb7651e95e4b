"""What every route shares to stay safe: response headers, bounded bodies, CSRF, rate limits, client address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    # Tokens live in URLs: never sent to another site. (Not "no-referrer": a browser then sends "Origin: null"
    # with the site's own forms, and the Origin check below could not tell them from a forged one.)
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
CSRF_COOKIE = "digest_csrf"
CSRF_MAX_AGE = 2 * 3600
_STAMP = re.compile(r"[0-9]{1,12}")


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes with 413, whether announced or streamed (chunked)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not re.fullmatch(rb"[0-9]{1,18}", declared) or int(declared) > self.limit):
            await too_large()(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the application, where Starlette turns it into a 413 answer.
                    raise HTTPException(status_code=413, detail="Request body too large")
            return message

        await self.app(scope, limited, send)


def too_large() -> Response:
    return Response("Request body too large\n", status_code=413, headers=SECURITY_HEADERS)


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


def _sign(key: bytes, text: str) -> str:
    digest = hmac.new(key, f"digest:csrf:{text}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_pair(key: bytes, now: float, binding: str) -> tuple[str, str]:
    """(cookie value, form field): the field signs the cookie's nonce, the time and what the form is bound to
    (its action: the page's own path, token included), so that it is good for that one page and no other."""
    nonce = secrets.token_urlsafe(18)
    stamp = str(int(now))
    return nonce, f"{stamp}.{_sign(key, f'{nonce}:{stamp}:{binding}')}"


def csrf_valid(key: bytes, cookie: str | None, field: str | None, now: float, binding: str) -> bool:
    if not cookie or not field or "." not in field:
        return False
    stamp, _, signature = field.partition(".")
    if not _STAMP.fullmatch(stamp) or now - int(stamp) > CSRF_MAX_AGE:
        return False
    return hmac.compare_digest(_sign(key, f"{cookie}:{stamp}:{binding}"), signature)


def site_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as a browser writes it in an Origin header."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


class OriginCheck:
    """Refuse (403) a POST whose Origin header, when it has one, is not the site's: a form sent from another site.

    One-click unsubscribe (RFC 8058) is exempt: mail providers post it from their own servers.
    """

    def __init__(self, app: ASGIApp, site_url: str, exempt: tuple[str, ...] = ("/unsubscribe/",)) -> None:
        self.app = app
        self.origin = site_origin(site_url)
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope["path"].startswith(self.exempt):
            origin = dict(scope.get("headers") or []).get(b"origin")
            if origin is not None and origin.decode("latin-1").rstrip("/").lower() != self.origin.lower():
                await foreign_origin()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def foreign_origin() -> Response:
    return Response(
        "This form was sent from another site; nothing was changed.\n", status_code=403, headers=SECURITY_HEADERS
    )


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, what X-Forwarded-For says.

    The header is read from the right (the hop nearest to us) and trusted proxies are skipped;
    the first address that is not one of them is the client. From any other peer the
    header is ignored, so a client cannot pick its own address.
    """
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(text: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in trusted)
