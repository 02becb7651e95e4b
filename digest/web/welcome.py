"""A new reader's first papers: the latest digest's top papers, each with "More like this".

Shown when a subscription is confirmed (the confirm POST's answer), and at ``/welcome/<token>`` (the
reader's vote token: signed, naming the subscriber). A GET only shows; each button is a POST of this page
carrying its CSRF field and the paper's id, recorded as the mail's "More like this" records it (the same
vote, the same rows made for a mail queued for the reader), so that their first mail already ranks for
them. Pressing again offers Undo. The papers are the latest digest's first :data:`FIRST_PAPERS`: in the
reader's order when they gave interests when subscribing, else in the listing's.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.listings.references import vote_key
from digest.models import Subscriber, VotedPaper
from digest.ranking.kept import keep_reader, ranker_for
from digest.store import Store
from digest.tokens import make_token
from digest.web.context import WebContext, in_thread, read_form

#: How many of the latest digest's papers a new reader is offered.
FIRST_PAPERS = 10
_PAPER_ID = re.compile(r"[1-9][0-9]{0,14}")


class WelcomePages:
    def __init__(self, web: WebContext) -> None:
        self.web = web

    def routes(self) -> list[Route]:
        return [Route("/welcome/{token}", self.welcome, methods=["GET", "POST"])]

    async def welcome(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber_id = await self.web.verified("vote", token)
        if subscriber_id is None:
            return self.web.bad_link()
        done = None
        status = 200
        if request.method == "POST":
            form = await read_form(request)
            paper_text, choice = form.get("paper", ""), form.get("choice", "like")
            if not self.web.csrf_ok(request, form):
                done = "The page had expired. Please press the button again." + self.web.form_cookie_note(request)
            elif not _PAPER_ID.fullmatch(paper_text) or choice not in ("like", "none"):
                return self.web.bad_link()
            else:
                done, status = await in_thread(self._record, subscriber_id, int(paper_text), choice)
        return await self.page(subscriber_id, f"/welcome/{token}", done=done, status=status)

    async def confirmed(self, subscriber_id: int, email: str) -> Response:
        """What confirming a subscription answers: this page, for the reader just subscribed."""
        token = make_token(self.web.secret, "vote", subscriber_id, email)
        return await self.page(subscriber_id, f"/welcome/{token}", intro=True)

    async def page(
        self, subscriber_id: int, action: str, *, done: str | None = None, intro: bool = False, status: int = 200
    ) -> Response:
        """The page: the papers, each with its button (``intro``: as the answer to a confirmation)."""
        shown = await in_thread(self._papers, subscriber_id)
        if shown is None:
            return self.web.bad_link()
        papers, preferences = shown
        return self.web.form_page(
            "welcome.html.j2",
            cookie_path="/welcome/",
            action=action,
            status=status,
            papers=papers,
            done=done,
            intro=intro,
            preferences_url=preferences,
        )

    def _papers(self, subscriber_id: int) -> tuple[list[tuple[VotedPaper, bool]], str] | None:
        """The papers offered, each with whether the reader likes it; and their preferences page's path."""
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return None
        liked = {vote.key for vote in store.profiles.recent_votes(subscriber_id, "like", 200)}
        papers = [store.profiles.paper(paper_id) for paper_id in self._first(store, subscriber)]
        preferences = make_token(self.web.secret, "preferences", subscriber.id, subscriber.email)
        return [
            (paper, vote_key(paper) in liked) for paper in papers if paper is not None
        ], f"/preferences/{preferences}"

    def _first(self, store: Store, subscriber: Subscriber) -> list[int]:
        """The ids of the latest digest's first papers, for this reader."""
        digest = store.digests.get()
        if digest is None:
            return []
        order: list[int] = list(range(min(FIRST_PAPERS, len(digest.papers))))
        if subscriber.interests:
            ranker = ranker_for(store, digest, now=self.web.clock())
            order = list(ranker.score(store, store.profiles.profile(subscriber), explain=0).order[:FIRST_PAPERS])
        return [digest.papers[index].id for index in order]

    def _record(self, subscriber_id: int, paper_id: int, choice: str) -> tuple[str, int]:
        store = self.web.store()
        paper = store.profiles.paper(paper_id)
        if paper is None:
            return "That paper is not in the history; nothing was changed.", 400
        key = vote_key(paper)
        if choice == "none":
            store.profiles.unvote(subscriber_id, key)
            return "Undone: your vote on this paper is gone.", 200
        store.profiles.vote(subscriber_id, key, "like", paper, now=self.web.clock())
        keep_reader(store, subscriber_id, now=self.web.clock())  # (for the first mail, queued for them)
        return "Thank you: papers like this one now come first in your mail.", 200
