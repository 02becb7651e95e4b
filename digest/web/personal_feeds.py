"""Each reader's personal Atom feed: their For-you papers of the recent digests (or weeks, for a weekly
reader), with reasons and TL;DRs.

``/feed/<token>``: the token is signed over the reader's address and a feed key
kept in the store; a new key (Revoke, on the preferences page) makes every
older URL invalid. A bad, forged or revoked URL gets a plain 404, the feed of a
reader who left gets 410 Gone, and the feed never names the reader.

The ETag is made of what the feed is built from (the reader's status, frequency,
profile version and feed key; the newest digest, week and listing), read in one
query before anything is built: a conditional GET that matches gets 304 at once.
Built feeds are kept, a bounded number of bytes of them, by that ETag. Each
digest's ranking is read from the store (kept when it was published) once per
process and kept for the next readers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest import __version__
from digest.mail.weekly import week_so_far
from digest.models import Digest, Subscriber
from digest.ranking.follows import AuthorIndex, followed_first
from digest.ranking.grouping import combined, week_scope
from digest.ranking.kept import Ranker, ranker_for
from digest.ranking.rank import first_unvoted
from digest.ranking.summarise import summary
from digest.site.feeds import build_personal_feed
from digest.store.digests import FeedItem
from digest.tokens import TokenError, make_token, verify_token
from digest.web.context import WebContext, in_thread
from digest.web.security import SECURITY_HEADERS
from digest.weekly import week_digest

if TYPE_CHECKING:
    from digest.store import Store

#: Digests a daily reader's personal feed covers, weeks a weekly reader's, and ranking contexts kept (one each).
FEED_DIGESTS = 7
FEED_WEEKS = 4
KEPT_CONTEXTS = FEED_DIGESTS + FEED_WEEKS
#: Built feeds kept in memory (per process), by ETag: at most this many bytes of them.
KEPT_FEED_BYTES = 32_000_000
NOT_FOUND = Response("Not Found", status_code=404, media_type="text/plain")
#: A digest to rank, how many of its first papers are the reader's, and where each paper was published when that is
#: not the digest's own page (paper id -> its day's slug, publication time and place in that day's digest).
Edition = tuple[
    Digest, int, dict[int, tuple[str | None, dt.datetime, int]], str | None
]  # (and where its rows are kept)
GONE = "This feed is closed: its reader unsubscribed. Subscribing again opens it.\n"


def feed_url(web: WebContext, subscriber_id: int, identity: str) -> str:
    return f"{web.config.site.url}feed/{make_token(web.secret, 'feed', subscriber_id, identity)}"


class PersonalFeeds:
    def __init__(self, web: WebContext) -> None:
        self.web = web
        self.contexts: OrderedDict[str, Ranker] = OrderedDict()
        self.authors: weakref.WeakKeyDictionary[Ranker, AuthorIndex] = weakref.WeakKeyDictionary()  # (with its ranker)
        self.built: OrderedDict[str, bytes] = OrderedDict()  # by ETag
        self.built_bytes = 0
        self.lock = threading.Lock()
        config = web.config
        self.settings = repr((__version__, config.site, config.email.for_you, config.email.weekly_for_you))

    def routes(self) -> list[Route]:
        return [Route("/feed/{token}", self.feed, methods=["GET", "HEAD"])]

    async def feed(self, request: Request) -> Response:

        token = request.path_params["token"]
        found = await in_thread(self._state, token)
        if found is None:
            return NOT_FOUND
        subscriber_id, state = found
        if state[0] != "active":
            return Response(GONE, status_code=410, media_type="text/plain", headers=SECURITY_HEADERS)
        day = self.web.clock().date()  # (a weekly reader's feed holds their week so far)
        tag = hashlib.sha256(repr((self.settings, subscriber_id, state, day)).encode()).hexdigest()[:32]
        etag = f'"{tag}"'
        headers = {**SECURITY_HEADERS, "etag": etag, "cache-control": "private, max-age=300"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self._kept(etag)
        if body is None:
            body = await in_thread(self._build, subscriber_id)
            if body is None:
                return NOT_FOUND
            self._keep(etag, body)
        content = b"" if request.method == "HEAD" else body
        response = Response(content, media_type="application/atom+xml", headers=headers)
        response.headers["content-length"] = str(len(body))
        return response

    def _state(self, token: str) -> tuple[int, tuple[object, ...]] | None:
        """The reader a valid feed token names, and what their feed is built from; None for a bad token."""
        store = self.web.store()
        try:
            subscriber_id = verify_token(self.web.secret, "feed", token, store.profiles.feed_identity)
        except TokenError:
            return None
        state = store.profiles.feed_state(subscriber_id)
        return None if state is None else (subscriber_id, state)

    def _kept(self, etag: str) -> bytes | None:
        with self.lock:
            body = self.built.get(etag)
            if body is not None:
                self.built.move_to_end(etag)
            return body

    def _keep(self, etag: str, body: bytes) -> None:
        with self.lock:
            if etag in self.built or len(body) > KEPT_FEED_BYTES // 4:
                return
            self.built[etag] = body
            self.built_bytes += len(body)
            while self.built_bytes > KEPT_FEED_BYTES:
                _, gone = self.built.popitem(last=False)
                self.built_bytes -= len(gone)

    def _build(self, subscriber_id: int) -> bytes | None:
        store = self.web.store()
        subscriber = store.subscribers.get(subscriber_id)
        if subscriber is None:
            return None
        token = make_token(self.web.secret, "feed", subscriber_id, store.profiles.feed_identity(subscriber_id) or "")
        profile = store.profiles.profile(subscriber)
        items: list[tuple[FeedItem, str, str]] = []
        editions = self._editions(store, weekly=subscriber.frequency == "weekly")
        if subscriber.frequency == "weekly":
            editions = itertools.chain(self._week_so_far(store, subscriber), editions)
        for digest, for_you, daily, scope in editions:
            ranker = self._context(store, digest, scope)
            with self.lock:
                ranking = ranker.score(store, profile, explain=for_you)
            if profile.follows:
                ranking = followed_first(ranking, self._authors(ranker).followed(profile.follows))
            for index in ranking.order[: first_unvoted(ranking, for_you)]:
                paper = digest.papers[index]
                page, published_at, place = daily.get(paper.id, (None, digest.published_at, index))
                item = FeedItem(paper, digest.slug, published_at, page_slug=page, index=place)
                short = summary(paper.title, paper.abstract, paper.details.summary).text
                items.append((item, short, ranking.reason(index)))
        updated = max((item.published_at for item, _, _ in items), default=subscriber.created_at)
        assert updated is not None
        return build_personal_feed(
            items, self.web.config.site, self_url=f"{self.web.config.site.url}feed/{token}", updated=updated
        )

    def _editions(self, store: Store, *, weekly: bool) -> Iterator[Edition]:
        """The recent digests a reader's feed ranks, and how many of each are theirs: daily, or by week."""
        email = self.web.config.email
        if weekly:
            for week in store.weeks.all()[:FEED_WEEKS]:
                digest = combined(store, week.week, week.digest_ids, published_at=week.due_at)
                if digest.papers:
                    yield digest, email.weekly_for_you, {}, week_scope(week.week, week.digest_ids)
            return
        for record in store.digests.published()[:FEED_DIGESTS]:
            daily = store.digests.get(record.id)
            if daily is not None and daily.papers:
                yield daily, email.for_you, {}, None

    def _week_so_far(self, store: Store, subscriber: Subscriber) -> Iterator[Edition]:
        """A weekly reader's week so far (what their next weekly mail would hold), ranked as it will be: so a
        new weekly reader's feed is not empty until their first mail. Each paper links to its day's page (the
        week's page is written when its mails are queued), and keeps its entry id when the week is queued."""
        week, days = week_so_far(store, self.web.config, subscriber, self.web.clock())
        if not days:
            return
        digest = week_digest(week, days, published_at=max(day.published_at for day in days))
        placed: dict[int, tuple[str | None, dt.datetime, int]] = {
            paper.id: (day.slug, day.published_at, index) for day in days for index, paper in enumerate(day.papers)
        }
        yield digest, self.web.config.email.weekly_for_you, placed, None  # (ranked in memory: it grows)

    def _authors(self, ranker: Ranker) -> AuthorIndex:
        """The authors of a ranking context's digest, read once and kept as long as the context is."""
        with self.lock:
            found = self.authors.get(ranker)
            if found is None:
                found = self.authors[ranker] = AuthorIndex(ranker.digest.papers)
            return found

    def _context(self, store: Store, digest: Digest, scope: str | None) -> Ranker:
        # A day's, or a week's; a week so far grows, so its papers are part of the key.
        key = f"{digest.slug}:{hashlib.sha256(repr([paper.id for paper in digest.papers]).encode()).hexdigest()[:16]}"
        with self.lock:
            context = self.contexts.get(key)
            if context is not None:
                self.contexts.move_to_end(key)
                return context
        context = ranker_for(store, digest, scope=scope, now=self.web.clock())
        with self.lock:
            self.contexts[key] = context
            while len(self.contexts) > KEPT_CONTEXTS:
                self.contexts.popitem(last=False)
        return context
