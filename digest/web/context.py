"""What every page of the web service shares: the configuration, the store, page and form helpers.

The pages (one module per concern) take a :class:`WebContext`; :mod:`digest.web.app` builds it
and assembles their routes into the application. This module imports no page.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.config import Config
from digest.pipeline import renderer_for
from digest.store import Store
from digest.tokens import Action, TokenError, verify_token
from digest.web.security import CSRF_COOKIE, CSRF_MAX_AGE, SECURITY_HEADERS, csrf_pair, csrf_valid


class WebContext:
    """What every page shares: the configuration, a database connection per thread, the page renderer."""

    def __init__(
        self,
        config: Config,
        *,
        open_store: Callable[[], Store],
        secret: bytes,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.open_store = open_store
        self.secret = secret
        self.clock = clock
        self.renderer = renderer_for(config)
        self.local = threading.local()

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

    def form_page(self, template: str, *, cookie_path: str, action: str, status: int = 200, **context: Any) -> Response:
        """A page with a form that changes something (posted to ``action``, a path): its CSRF field, bound to that
        action, and the cookie that field is tied to."""
        cookie, field = csrf_pair(self.secret, time.time(), action)
        response = self.page(template, status=status, csrf=field, action=action, **context)
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
        """Whether a POST carries the CSRF field this site gave the same browser, on the page whose form posts here."""
        field = form.get("csrf")
        return csrf_valid(
            self.secret,
            request.cookies.get(CSRF_COOKIE),
            field if isinstance(field, str) else None,
            time.time(),
            request.url.path,
        )

    def form_cookie_note(self, request: Request) -> str:
        """Why a form keeps "expiring" when the browser sent no form cookie back: it keeps a Secure cookie
        (site.url is https) for https only, so a page opened over plain http can never be sent."""
        if request.cookies.get(CSRF_COOKIE) or not self.config.site.url.startswith("https://"):
            return ""
        return (
            f" If this keeps happening, open the page at {self.config.site.url} (over https): this site's forms"
            " work only over https, and a browser that opened it over plain http keeps no form cookie."
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


async def read_form(request: Request) -> dict[str, str]:
    """A POST's fields (urlencoded or multipart), control characters (a NUL...) dropped at the edge."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        return {key: field_text(value) for key, value in form.items() if isinstance(value, str)}
    body = await request.body()
    return {key: field_text(values[0]) for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def field_text(value: object) -> str:
    """A form field's text without control characters (line breaks and tabs stay); "" for a file or nothing."""
    return _CONTROLS.sub("", value) if isinstance(value, str) else ""


async def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args, **kwargs)
