"""Each reader's preferences page: interest terms, votes and frequency, changed from a link in every mail.

``/preferences/<token>``: the token is signed and names the subscriber (no login,
no password); a bad, altered or old-key token gets the same 400 page as any bad
link, before anything is read about anyone. A GET only shows; every change is a
POST carrying the page's CSRF field, takes effect from the next mail, and the
page then says what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.models import Frequency, Subscriber
from digest.ranking.kept import keep_reader
from digest.store.profiles import Vote
from digest.subscribers import parse_terms, terms_text
from digest.tokens import make_token
from digest.web.context import WebContext, in_thread, read_form
from digest.web.personal_feeds import feed_url
from digest.weekly import DAYS_FULL

if TYPE_CHECKING:
    from digest.config import Config

MAX_INTERESTS = 500  # characters of the interests field
NOTHING_CHANGED = "Nothing changed."


@dataclass(frozen=True, slots=True)
class Shown:
    subscriber: Subscriber
    votes: list[Vote]
    feed_url: str


class PreferencePages:
    def __init__(self, web: WebContext) -> None:
        self.web = web

    def routes(self) -> list[Route]:
        return [Route("/preferences/{token}", self.preferences, methods=["GET", "POST"])]

    async def preferences(self, request: Request) -> Response:

        token = request.path_params["token"]
        subscriber_id = await self.web.verified("preferences", token)
        if subscriber_id is None:
            return self.web.bad_link()
        done: list[str] = []
        changed = False
        if request.method == "POST":
            form = await read_form(request)
            if not self.web.csrf_ok(request, form):
                done = ["The page had expired, so nothing was changed. Please make your change again."]
                done[0] += self.web.form_cookie_note(request)
            else:
                done = await in_thread(self._change, subscriber_id, form)
                changed = done != [NOTHING_CHANGED]
        shown = await in_thread(self._load, subscriber_id)
        if shown is None:
            return self.web.bad_link()
        return self._page(token, shown, done, changed=changed)

    def _load(self, subscriber_id: int) -> Shown | None:
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return None
        store.profiles.feed_key(subscriber_id)  # made on first visit
        identity = store.profiles.feed_identity(subscriber_id)
        assert identity is not None
        return Shown(subscriber, store.profiles.votes(subscriber_id), feed_url(self.web, subscriber_id, identity))

    def _change(self, subscriber_id: int, form: dict[str, str]) -> list[str]:
        """Apply one form's change; say what changed, in sentences."""
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return []
        if form.get("action") == "revoke-feed":
            store.profiles.feed_key(subscriber_id, renew=True)
            return ["Your old feed address no longer works; the new one is below."]
        if form.get("action") == "remove-filter" and form.get("filter") in ("include", "exclude"):
            which = form["filter"]
            if not (subscriber.include if which == "include" else subscriber.exclude):
                return [NOTHING_CHANGED]
            store.subscribers.clear_filter(subscriber_id, which)
            return [
                "Your mail no longer leaves out papers outside your topics."
                if which == "include"
                else "Your mail no longer leaves out papers on the topics you had excluded."
            ]
        if form.get("action") == "remove":
            key = form.get("vote", "")
            kind = store.profiles.unvote(subscriber_id, key[:600])
            return [f"Removed from your {'likes' if kind == 'like' else 'dislikes'}."] if kind else []
        said = []
        interests = parse_terms(form.get("interests", "")[:MAX_INTERESTS])
        frequency: Frequency = "weekly" if form.get("frequency") == "weekly" else "daily"
        if interests != subscriber.interests:
            store.profiles.update(subscriber_id, interests=interests)
            keep_reader(store, subscriber_id, now=self.web.clock())  # (for a mail queued for them)
            said.append(
                f"Your interests are now: {terms_text(interests)}." if interests else "Your interests are cleared."
            )
        if frequency != subscriber.frequency:
            store.profiles.update(subscriber_id, frequency=frequency)
            said.append(f"You now get the digest {'once a week' if frequency == 'weekly' else 'every day'}.")
        return said or [NOTHING_CHANGED]

    def _page(self, token: str, shown: Shown, done: list[str], *, changed: bool) -> Response:
        subscriber = shown.subscriber
        unsubscribe = make_token(self.web.secret, "unsubscribe", subscriber.id, subscriber.email)
        return self.web.form_page(
            "preferences.html.j2",
            cookie_path="/preferences/",
            action=f"/preferences/{token}",
            done=done,
            changed=changed,
            include=terms_text(subscriber.include),
            exclude=terms_text(subscriber.exclude),
            interests=terms_text(subscriber.interests),
            frequency=subscriber.frequency,
            likes=[vote for vote in shown.votes if vote.kind == "like"],
            dislikes=[vote for vote in shown.votes if vote.kind == "dislike"],
            unsubscribe_url=f"/unsubscribe/{unsubscribe}",
            feed_url=shown.feed_url,
            active=subscriber.status == "active",
            weekly_note=weekly_note(self.web.config),
        )


def weekly_note(config: Config) -> str:
    """When the weekly mail comes, as a reader reads it: "Mondays at 07:00 (Europe/London)"."""
    weekly = config.schedule.weekly
    day = DAYS_FULL[weekly.weekday].capitalize()
    return (
        f"The weekly mail comes on {day}s at {weekly.at:%H:%M} ({config.timezone.key}), with every paper"
        " since the last one; switching takes effect with the next mail, and no paper comes twice."
    )
