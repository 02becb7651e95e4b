"""The web service's application: shared context, routes from each concern, middleware, and the server.

A Starlette application over the same database and site folder as the commands:

* the archive and feeds (:mod:`digest.web.static`);
* subscribe, confirm and one-click unsubscribe (:mod:`digest.web.subscriptions`);
* votes from the mail (:mod:`digest.web.votes`), each reader's preferences (:mod:`digest.web.preferences`)
  and personal feed (:mod:`digest.web.personal_feeds`).

Every page is autoescaped and sent with a strict Content-Security-Policy (no script at all);
request bodies are bounded, and so is the time a client may take to send its request headers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp

from digest.config import Config
from digest.errors import DigestError
from digest.pipeline import renderer_for
from digest.store import Store
from digest.tokens import Action, TokenError, verify_token
from digest.web.personal_feeds import PersonalFeeds
from digest.web.preferences import PreferencePages
from digest.web.security import CSRF_COOKIE, CSRF_MAX_AGE, SECURITY_HEADERS, BodyLimit, csrf_pair, csrf_valid
from digest.web.static import SitePages
from digest.web.subscriptions import ConfirmationMailer, SubscriptionPages
from digest.web.votes import VotePages


class WebApp:
    """What every page shares: the configuration, a database connection per thread, the page renderer."""

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
        self.clock = clock
        self.renderer = renderer_for(config)
        self.local = threading.local()
        self.mailer = ConfirmationMailer(open_store, send_confirmation, clock)

    def store(self) -> Store:
        """This thread's database connection."""
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

    def form_page(self, template: str, *, cookie_path: str, status: int = 200, **context: Any) -> Response:
        """A page with a form that changes something: its CSRF field, and the cookie that field is tied to."""
        cookie, field = csrf_pair(self.secret, time.time())
        response = self.page(template, status=status, csrf=field, **context)
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            max_age=CSRF_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=self.config.site.url.startswith("https://"),
            path=cookie_path,
        )
        return response

    def csrf_ok(self, request: Request, form: Mapping[str, object]) -> bool:
        """Whether a POST carries the CSRF field of a page this site gave the same browser."""
        field = form.get("csrf")
        return csrf_valid(
            self.secret, request.cookies.get(CSRF_COOKIE), field if isinstance(field, str) else None, time.time()
        )

    def bad_link(self) -> Response:
        return self.page(
            "message.html.j2",
            status=400,
            title="This link does not work",
            text="The link is incomplete, has expired, or was not made by this site. Nothing was changed. "
            "If you copied it from an email, make sure the whole link was copied.",
        )

    async def verified(self, action: Action, token: str, *, max_age: dt.timedelta | None = None) -> int | None:
        """The subscriber a valid token names; None for any bad token (malformed, forged, expired)."""

        def check() -> int | None:
            try:
                return verify_token(
                    self.secret, action, token, self.store().subscribers.email_of, now=self.clock(), max_age=max_age
                )
            except TokenError:
                return None

        return await in_thread(check)  # type: ignore[no-any-return]

    def application(self) -> ASGIApp:
        routes = [
            *SubscriptionPages(self, self.mailer).routes(),
            *VotePages(self).routes(),
            *PreferencePages(self).routes(),
            *PersonalFeeds(self).routes(),
            *SitePages(self).routes(),  # the site last
        ]
        return BodyLimit(Starlette(routes=routes), self.config.web.max_body)


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    body = await request.body()
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


async def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args, **kwargs)


def header_deadline_protocol(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, closing a connection whose request headers take longer than ``timeout``.

    uvicorn bounds idle keep-alive connections but not a client that trickles its
    headers a byte at a time; a hundred such clients would hold a hundred sockets
    open for ever. The deadline is armed when a connection opens and after each
    response, and disarmed once a request's headers are complete.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeaderDeadline(HttpToolsProtocol):
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self.deadline = self.loop.call_later(timeout, self._too_slow)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


def serve(app: ASGIApp, *, host: str, port: int, header_timeout: float) -> None:
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
        http=header_deadline_protocol(header_timeout),
        log_level=os.environ.get("DIGEST_SERVE_LOG_LEVEL", "warning"),
        access_log=False,
        server_header=False,
        proxy_headers=False,  # forwarded headers are read by client_address, from trusted proxies only
    )
