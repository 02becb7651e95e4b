"""Each reader's preferences page: interest terms (and those their likes suggest), followed authors, votes and
frequency, changed from a link in every mail.

``/preferences/<token>``: the token is signed and names the subscriber (no login,
no password); a bad, altered or old-key token gets the same 400 page as any bad
link, before anything is read about anyone. A GET only shows; every change is a
POST carrying the page's CSRF field, takes effect from the next mail, and the
page then says what changed.

A GET writes nothing, not even a feed key (that is made with the reader). Interest terms past
the limit are refused with what is too long; the most recent votes are listed, with how many
more there are; a reader who left is told so, and offered to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.models import Frequency, Subscriber
from digest.names import MAX_FOLLOWS, MAX_NAME
from digest.ranking.kept import keep_reader
from digest.store.profiles import Vote
from digest.subscribers import MAX_TERMS_TEXT, TermsError, checked_terms, terms_text
from digest.tokens import make_token
from digest.web.context import WebContext, in_thread, read_form
from digest.web.follows import ACTIONS, change, followed_and_suggested
from digest.web.personal_feeds import feed_url
from digest.weekly import DAYS_FULL

if TYPE_CHECKING:
    from digest.config import Config

NOTHING_CHANGED = "Nothing changed."
#: Votes of each kind the page lists (the most recent); it says how many more there are.
VOTES_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Shown:
    subscriber: Subscriber
    likes: list[Vote]
    dislikes: list[Vote]
    counts: tuple[int, int]  # all likes, all dislikes
    feed_url: str | None  # None: the reader has no feed key (made by a POST)
    follows: list[str]  # the authors they follow, as they wrote them
    suggested: list[str]  # interest terms their likes suggest


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
        status = 200
        if request.method == "POST":
            form = await read_form(request)
            if not self.web.csrf_ok(request, form):
                done = ["The page had expired, so nothing was changed. Please make your change again."]
                done[0] += self.web.form_cookie_note(request)
            else:
                done, status = await in_thread(self._change, subscriber_id, form)
                changed = status == 200 and done != [NOTHING_CHANGED]
        shown = await in_thread(self._load, subscriber_id)
        if shown is None:
            return self.web.bad_link()
        return self._page(token, shown, done, changed=changed, status=status)

    def _load(self, subscriber_id: int) -> Shown | None:
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return None
        identity = store.profiles.feed_identity(subscriber_id)
        follows, suggested = followed_and_suggested(store, subscriber) if subscriber.status == "active" else ([], [])
        return Shown(
            subscriber,
            store.profiles.recent_votes(subscriber_id, "like", VOTES_SHOWN),
            store.profiles.recent_votes(subscriber_id, "dislike", VOTES_SHOWN),
            store.profiles.vote_counts([subscriber_id]).get(subscriber_id, (0, 0)),
            feed_url(self.web, subscriber_id, identity) if identity is not None else None,
            follows,
            suggested,
        )

    def _change(self, subscriber_id: int, form: dict[str, str]) -> tuple[list[str], int]:
        """Apply one form's change; say what changed, in sentences (and the page's status)."""
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return [], 200
        if form.get("action") == "resubscribe":
            if subscriber.status == "active":
                return ["You are subscribed already."], 200
            store.subscribers.set_status(subscriber_id, "active", now=self.web.clock())
            return ["Welcome back: you are subscribed again, from the next digest on."], 200
        if subscriber.status != "active":
            return ["You are not subscribed, so nothing was changed."], 200
        if form.get("action") == "revoke-feed":
            store.profiles.renew_feed_key(subscriber_id)
            return ["Your old feed address no longer works; the new one is below."], 200
        if form.get("action") == "remove-filter" and form.get("filter") in ("include", "exclude"):
            which = form["filter"]
            if not (subscriber.include if which == "include" else subscriber.exclude):
                return [NOTHING_CHANGED], 200
            store.subscribers.clear_filter(subscriber_id, which)
            return [
                "Your mail no longer leaves out papers outside your topics."
                if which == "include"
                else "Your mail no longer leaves out papers on the topics you had excluded."
            ], 200
        if form.get("action") == "remove":
            key = form.get("vote", "")
            kind = store.profiles.unvote(subscriber_id, key[:600])
            return ([f"Removed from your {'likes' if kind == 'like' else 'dislikes'}."] if kind else []), 200
        if form.get("action") in ACTIONS:
            return change(store, subscriber, form, now=self.web.clock())
        try:
            interests = checked_terms(form.get("interests", ""))
        except TermsError as exc:
            return [f"Nothing was changed: your {exc.message} ({exc.hint})."], 400
        said = []
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
        return (said or [NOTHING_CHANGED]), 200

    def _page(self, token: str, shown: Shown, done: list[str], *, changed: bool, status: int = 200) -> Response:
        subscriber = shown.subscriber
        unsubscribe = make_token(self.web.secret, "unsubscribe", subscriber.id, subscriber.email)
        likes, dislikes = shown.counts
        return self.web.form_page(
            "preferences.html.j2",
            cookie_path="/preferences/",
            action=f"/preferences/{token}",
            status=status,
            done=done,
            changed=changed,
            include=terms_text(subscriber.include),
            exclude=terms_text(subscriber.exclude),
            interests=terms_text(subscriber.interests),
            frequency=subscriber.frequency,
            likes=shown.likes,
            dislikes=shown.dislikes,
            more_likes=likes - len(shown.likes),
            more_dislikes=dislikes - len(shown.dislikes),
            unsubscribe_url=f"/unsubscribe/{unsubscribe}",
            feed_url=shown.feed_url,
            active=subscriber.status == "active",
            weekly_note=weekly_note(self.web.config),
            max_interests=MAX_TERMS_TEXT,
            follows=shown.follows,
            suggested=shown.suggested,
            max_name=MAX_NAME,
            max_follows=MAX_FOLLOWS,
        )


def weekly_note(config: Config) -> str:
    """When the weekly mail comes, as a reader reads it: "Mondays at 07:00 (Europe/London)"."""
    weekly = config.schedule.weekly
    day = DAYS_FULL[weekly.weekday].capitalize()
    return (
        f"The weekly mail comes on {day}s at {weekly.at:%H:%M} ({config.timezone.key}), with every paper"
        " since the last one; switching takes effect with the next mail, and no paper comes twice."
    )
