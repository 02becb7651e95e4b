"""Subscribing, confirming and unsubscribing: forms that show on GET and act only on POST.

Only POST changes anything: link scanners and prefetchers send GET and HEAD (and
sometimes OPTIONS) to every link in a mail, and must confirm or unsubscribe nobody.

``POST /subscribe`` does the same work whatever the address: it checks the form, hands
the address to the background mailer and answers at once, so neither the page nor
its timing tells whether an address is subscribed, and a slow mail relay never holds
a request (or the server's thread pool) hostage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.errors import DigestError
from digest.store import Store
from digest.subscribers import AddressError, TermsError, checked_terms, normalise_address
from digest.tokens import make_token
from digest.web.context import WebContext, field_text, in_thread, read_form
from digest.web.security import RateLimiter, client_address

log = logging.getLogger(__name__)

#: Subscribe requests waiting for the background mailer; past this, new ones are dropped (and logged).
MAILER_BACKLOG = 1000


class ConfirmationMailer:
    """One background thread that records pending subscribers and mails their confirmation links."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        send_confirmation: Callable[[Store, Any, dt.datetime], None],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.open_store = open_store
        self.send_confirmation = send_confirmation
        self.clock = clock
        self.jobs: queue.Queue[tuple[str, tuple[str, ...]]] = queue.Queue(MAILER_BACKLOG)  # (address, interests)
        self.thread = threading.Thread(target=self._work, name="digest-confirmations", daemon=True)
        self.thread.start()

    def submit(self, address: str, interests: tuple[str, ...]) -> None:
        try:
            self.jobs.put_nowait((address, interests))
        except queue.Full:
            log.warning(
                "subscribe request for %s dropped: %d requests wait for the mail relay", address, MAILER_BACKLOG
            )

    def _work(self) -> None:
        store: Store | None = None
        while True:
            address, interests = self.jobs.get()
            try:
                store = store or self.open_store()
                self._subscribe(store, address, interests)
            except DigestError as exc:
                log.warning("confirmation mail to %s not sent: %s", address, exc.one_line())
            except Exception:
                log.exception("confirmation mail to %s not sent", address)
                if store is not None:  # start again with a fresh connection
                    with contextlib.suppress(Exception):
                        store.close()
                store = None
            finally:
                self.jobs.task_done()

    def _subscribe(self, store: Store, address: str, interests: tuple[str, ...]) -> None:
        """A pending subscriber with the form's interest terms (soft: they rank; no paper is left out)."""
        now = self.clock()
        with store.transaction(exclusive=True):
            existing = store.subscribers.by_email(address)
            if existing is not None and (existing.status == "active" or store.returned.complained(existing.id)):
                return  # already receiving it, or reported it as spam: nothing to confirm, nothing to tell a stranger
            subscriber, _ = store.subscribers.add(address, status="pending", now=now)
            if interests:
                store.profiles.update(subscriber.id, interests=interests)
        self.send_confirmation(store, subscriber, now)


class SubscriptionPages:
    def __init__(
        self,
        web: WebContext,
        mailer: ConfirmationMailer,
        *,
        confirmed: Callable[[int, str], Awaitable[Response]] | None = None,
    ) -> None:
        self.web = web
        self.mailer = mailer
        self.confirmed = confirmed  # the page a confirmation answers with: the reader's first papers
        self.per_ip = RateLimiter(web.config.web.subscribe_per_ip, 3600)
        self.per_address = RateLimiter(web.config.web.subscribe_per_address, 86400)

    def routes(self) -> list[Route]:
        return [
            Route("/subscribe", self.subscribe, methods=["GET", "POST"]),
            Route("/confirm/{token}", self.confirm, methods=["GET", "POST"]),
            Route("/unsubscribe/{token}", self.unsubscribe, methods=["GET", "POST"]),
        ]

    # -- subscribing --

    def subscribe_form(self, *, error: str | None = None, email: str = "", status: int = 200) -> Response:
        return self.web.form_page(
            "subscribe.html.j2", cookie_path="/subscribe", action="/subscribe", status=status, error=error, email=email
        )

    async def subscribe(self, request: Request) -> Response:
        if request.method != "POST":
            return self.subscribe_form()
        form = await request.form()
        if not self.web.csrf_ok(request, form):
            expired = "The form had expired. Please send it again." + self.web.form_cookie_note(request)
            return self.subscribe_form(status=400, error=expired)
        email_text, raw_terms = field_text(form.get("email")), field_text(form.get("interests"))
        try:
            address = normalise_address(email_text[:320])
        except AddressError:
            return self.subscribe_form(
                status=400, email=email_text[:320], error="That does not look like an email address. Please check it."
            )
        if not self.per_ip.allow(client_address(request, self.web.config.web.trusted_proxies)):
            return self.web.page(
                "message.html.j2",
                status=429,
                title="Too many requests",
                text="Please wait a while before trying again.",
            )
        try:
            interests = checked_terms(raw_terms, "your interests")
        except TermsError as exc:
            return self.subscribe_form(status=400, email=address, error=f"Please shorten {exc.message}.")
        if self.per_address.allow(address):
            self.mailer.submit(address, interests)
        # The same answer, after the same work, whether the address was new, pending, active or rate-limited.
        return self.web.page(
            "message.html.j2",
            title="Check your inbox",
            text=f"If {address} can receive mail, a message with a confirmation link is on its way. "
            "Open it and press the button to start receiving the digest.",
        )

    # -- confirming --

    async def confirm(self, request: Request) -> Response:

        token = request.path_params["token"]
        subscriber_id = await self.web.verified("confirm", token, max_age=self.web.config.web.confirm_max_age)
        if subscriber_id is None:
            return self.web.bad_link()
        if request.method != "POST":
            return self.web.page("confirm.html.j2", action=f"/confirm/{token}")
        email = await in_thread(self._activate, subscriber_id)
        if self.confirmed is not None:  # the latest digest's top papers, each with "More like this"
            return await self.confirmed(subscriber_id, email)
        preferences = f"/preferences/{make_token(self.web.secret, 'preferences', subscriber_id, email)}"
        return self.web.page(
            "message.html.j2",
            title="You are subscribed",
            text="Thank you. The next digest will reach you; every one has a one-click unsubscribe link.",
            link=("Set your interests and how often you get mail", preferences),
        )

    def _activate(self, subscriber_id: int) -> str:
        """Activate the subscriber; their address."""
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is not None and subscriber.status != "active":
            store.subscribers.set_status(subscriber_id, "active", now=self.web.clock())
        return store.subscribers.email_of(subscriber_id) or ""

    # -- unsubscribing --

    async def unsubscribe(self, request: Request) -> Response:

        token = request.path_params["token"]
        subscriber_id = await self.web.verified("unsubscribe", token)
        if subscriber_id is None:
            return self.web.bad_link()
        if request.method != "POST":
            return self.web.page("unsubscribe.html.j2", action=f"/unsubscribe/{token}")
        await read_form(request)  # List-Unsubscribe=One-Click, urlencoded or multipart; any body will do
        await in_thread(self._unsubscribe, subscriber_id)
        return self.web.page(
            "message.html.j2",
            title="You are unsubscribed",
            text="You will receive no more digests at this address. "
            "Changed your mind? You can subscribe again at any time.",
            link=("Subscribe again", "/subscribe"),
        )

    def _unsubscribe(self, subscriber_id: int) -> None:
        self.web.store().subscribers.set_status(subscriber_id, "unsubscribed", now=self.web.clock())
