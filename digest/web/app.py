"""The web service's application: the routes of each concern assembled, middleware, and the server.

A Starlette application over the same database and site folder as the commands; what the pages
share is :mod:`digest.web.context`:

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
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from digest.config import Config
from digest.errors import DigestError
from digest.store import Store
from digest.web.context import WebContext
from digest.web.personal_feeds import PersonalFeeds
from digest.web.preferences import PreferencePages
from digest.web.security import BodyLimit, OriginCheck
from digest.web.static import SitePages
from digest.web.subscriptions import ConfirmationMailer, SubscriptionPages
from digest.web.votes import VotePages
from digest.web.welcome import WelcomePages


class WebApp(WebContext):
    """The web service: the shared context, and the confirmation mail subscribing sends."""

    def __init__(
        self,
        config: Config,
        *,
        open_store: Callable[[], Store],
        secret: bytes,
        send_confirmation: Callable[[Store, Any, dt.datetime], None],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        super().__init__(config, open_store=open_store, secret=secret, clock=clock)
        self.mailer = ConfirmationMailer(open_store, send_confirmation, clock)

    def application(self) -> ASGIApp:
        welcome = WelcomePages(self)
        routes = [
            *SubscriptionPages(self, self.mailer, confirmed=welcome.confirmed).routes(),
            *welcome.routes(),
            *VotePages(self).routes(),
            *PreferencePages(self).routes(),
            *PersonalFeeds(self).routes(),
            *SitePages(self).routes(),  # the site last
        ]
        return BodyLimit(OriginCheck(Starlette(routes=routes), self.config.site.url), self.config.web.max_body)


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
