"""Each reader's personal Atom feed: their For-you papers of the recent digests (or weeks, for a weekly
reader), with reasons and TL;DRs.

``/feed/<token>``: the token is signed over the reader's address and a feed key
kept in the store; a new key (Revoke, on the preferences page) makes every
older URL invalid. A bad, forged or revoked URL gets a plain 404, and the feed
never names the reader. Answers carry an ETag and a conditional GET gets 304.
Each digest's ranking features are prepared once and kept for the next readers.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.models import Digest
from digest.ranking.grouping import combined
from digest.ranking.rank import IDF_SAMPLE, RankingContext, paper_text, prepare
from digest.ranking.summarise import summary
from digest.site.feeds import build_personal_feed
from digest.store.digests import FeedItem
from digest.tokens import TokenError, make_token, verify_token
from digest.web.context import WebContext, in_thread
from digest.web.security import SECURITY_HEADERS

if TYPE_CHECKING:
    from digest.store import Store

#: Digests a daily reader's personal feed covers, weeks a weekly reader's, and ranking contexts kept (one each).
FEED_DIGESTS = 7
FEED_WEEKS = 4
KEPT_CONTEXTS = FEED_DIGESTS + FEED_WEEKS
NOT_FOUND = Response("Not Found", status_code=404, media_type="text/plain")


def feed_url(web: WebContext, subscriber_id: int, identity: str) -> str:
    return f"{web.config.site.url}feed/{make_token(web.secret, 'feed', subscriber_id, identity)}"


class PersonalFeeds:
    def __init__(self, web: WebContext) -> None:
        self.web = web
        self.contexts: OrderedDict[str, RankingContext] = OrderedDict()
        self.lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route("/feed/{token}", self.feed, methods=["GET", "HEAD"])]

    async def feed(self, request: Request) -> Response:

        token = request.path_params["token"]
        body = await in_thread(self._build, token)
        if body is None:
            return NOT_FOUND
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {**SECURITY_HEADERS, "etag": etag, "cache-control": "private, max-age=300"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        content = b"" if request.method == "HEAD" else body
        response = Response(content, media_type="application/atom+xml", headers=headers)
        response.headers["content-length"] = str(len(body))
        return response

    def _build(self, token: str) -> bytes | None:
        store = self.web.store()
        try:
            subscriber_id = verify_token(self.web.secret, "feed", token, store.profiles.feed_identity)
        except TokenError:
            return None
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return None
        profile = store.profiles.profile(subscriber)
        items: list[tuple[FeedItem, str, str]] = []
        for digest, for_you in self._editions(store, weekly=subscriber.frequency == "weekly"):
            ranking = self._context(digest).score(profile, explain=for_you)
            for index in ranking.order[:for_you]:
                paper = digest.papers[index]
                item = FeedItem(paper, digest.slug, digest.published_at)
                short = summary(paper.title, paper.abstract, paper.details.summary).text
                items.append((item, short, ranking.reason(index)))
        updated = max((item.published_at for item, _, _ in items), default=subscriber.created_at)
        assert updated is not None
        return build_personal_feed(
            items, self.web.config.site, self_url=f"{self.web.config.site.url}feed/{token}", updated=updated
        )

    def _editions(self, store: Store, *, weekly: bool) -> Iterator[tuple[Digest, int]]:
        """The recent digests a reader's feed ranks, and how many of each are theirs: daily, or by week."""
        email = self.web.config.email
        if weekly:
            for week in store.weeks.all()[:FEED_WEEKS]:
                digest = combined(store, week.week, week.digest_ids, published_at=week.due_at)
                if digest.papers:
                    yield digest, email.weekly_for_you
            return
        for record in store.digests.published()[:FEED_DIGESTS]:
            daily = store.digests.get(record.id)
            if daily is not None and daily.papers:
                yield daily, email.for_you

    def _context(self, digest: Digest) -> RankingContext:
        key = digest.slug  # (a day's, or a week's)
        with self.lock:
            context = self.contexts.get(key)
            if context is not None:
                self.contexts.move_to_end(key)
                return context
        history = self.web.store().profiles.recent_texts(IDF_SAMPLE)
        texts = [paper_text(paper.title, paper.abstract) for paper in digest.papers]
        context = prepare(texts, [paper_text(*paper) for paper in history])
        with self.lock:
            self.contexts[key] = context
            while len(self.contexts) > KEPT_CONTEXTS:
                self.contexts.popitem(last=False)
        return context
