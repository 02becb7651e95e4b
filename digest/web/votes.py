"""Votes from the mail: "More like this" and "Less like this".

A vote link (``/vote/<token>/<paper id>/more`` or ``/less``) opens a page naming
the paper, with a button. Only that page's POST records the vote: link
scanners and prefetchers follow every GET. The token is signed and names the
subscriber; the form carries a CSRF field tied to a cookie. Voting twice changes
nothing more; the page then says what changed and offers Undo (a POST that puts
back what was there before). A bad or forged token, or a paper the history does
not hold, gets a 400 page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.listings.references import vote_key
from digest.models import VotedPaper, VoteKind
from digest.ranking.kept import keep_reader
from digest.web.context import WebContext, in_thread, read_form

DIRECTIONS: dict[str, VoteKind] = {"more": "like", "less": "dislike"}
CHOICES = ("like", "dislike", "none")
#: A paper id in a vote link: ASCII digits, no leading zero, bounded (superscript, circled, Arabic-Indic or
#: fullwidth digits name no paper).
_PAPER_ID = re.compile(r"[1-9][0-9]{0,14}")


@dataclass(frozen=True, slots=True)
class Choice:
    choice: str  # what the POST sets: "like", "dislike" or "none" (no vote)
    label: str
    quiet: bool = False


class VotePages:
    def __init__(self, web: WebContext) -> None:
        self.web = web

    def routes(self) -> list[Route]:
        return [Route("/vote/{token}/{paper}/{direction}", self.vote, methods=["GET", "POST"])]

    async def vote(self, request: Request) -> Response:

        token, paper_text, direction = (request.path_params[name] for name in ("token", "paper", "direction"))
        kind = DIRECTIONS.get(direction)
        subscriber_id = await self.web.verified("vote", token)
        if kind is None or subscriber_id is None or not _PAPER_ID.fullmatch(paper_text):
            return self.web.bad_link()
        paper, current = await in_thread(self._paper_and_vote, subscriber_id, int(paper_text))
        if paper is None:
            return self.web.bad_link()
        action = f"/vote/{token}/{paper_text}/{direction}"
        if request.method != "POST":
            return self._page(action, paper, kind, current)
        form = await read_form(request)
        if not self.web.csrf_ok(request, form):
            expired = "The page had expired. Please press the button again." + self.web.form_cookie_note(request)
            return self._page(action, paper, kind, current, done=expired)
        choice = form.get("choice", kind)
        if choice not in CHOICES:
            return self.web.bad_link()
        await in_thread(self._record, subscriber_id, paper, choice)
        after = None if choice == "none" else choice
        restore = (current or "none") if choice == kind else None  # an Undo is not offered for an Undo
        return self._page(action, paper, kind, after, done=_said(choice, current), restore=restore)

    def _paper_and_vote(self, subscriber_id: int, paper_id: int) -> tuple[VotedPaper | None, VoteKind | None]:
        store = self.web.store()
        paper = store.profiles.paper(paper_id)
        if paper is None:
            return None, None
        return paper, store.profiles.kind_of(subscriber_id, vote_key(paper))

    def _record(self, subscriber_id: int, paper: VotedPaper, choice: str) -> None:
        store = self.web.store()
        key = vote_key(paper)
        if choice == "none":
            store.profiles.unvote(subscriber_id, key)
        else:
            store.profiles.vote(
                subscriber_id, key, "like" if choice == "like" else "dislike", paper, now=self.web.clock()
            )
            keep_reader(store, subscriber_id, now=self.web.clock())  # (for a mail queued for them)

    def _page(
        self,
        action: str,
        paper: VotedPaper,
        kind: VoteKind,
        current: str | None,
        *,
        done: str | None = None,
        restore: str | None = None,
    ) -> Response:
        """The page: the paper, what a press does, and its button (after a change: Undo, which restores)."""
        more = kind == "like"
        heading = "More like this" if more else "Less like this"
        forms: list[Choice] = []
        if current == kind:  # the vote stands: Undo puts back what was there before it (else: no vote)
            back = restore if restore is not None and restore != kind else "none"
            forms.append(Choice(back, "Undo", quiet=True))
        else:
            forms.append(Choice(kind, heading))
        if current == kind and done is None:
            explanation = f"You already asked for {'more' if more else 'fewer'} papers like this one."
        elif current == kind:
            explanation = "Changed your mind? Undo takes the vote back."
        else:
            explanation = (
                f"Press the button and your next digests put papers like this one {'higher' if more else 'lower'}."
            )
        return self.web.form_page(
            "vote.html.j2",
            cookie_path="/vote/",
            heading=heading,
            paper=paper,
            explanation=explanation,
            done=done,
            forms=forms,
            action=action,
        )


def _said(choice: str, before: str | None) -> str:
    """What the POST changed, in a sentence."""
    if choice == before:
        return "Nothing to change: that was already your vote."
    if choice == "like":
        return "Thank you: papers like this one now come first in your next digests."
    if choice == "dislike":
        return "Thank you: papers like this one now come lower in your next digests."
    return "Undone: your vote on this paper is gone."
