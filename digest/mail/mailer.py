"""What a send needs besides the ledger: the transport, each reader's message, the confirmation mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from digest.config import Config
from digest.mail.assemble import Assembled, Linkless, Reader, assemble, linkless
from digest.mail.blocks import MAIL_PAPERS, DigestEmail, render_email
from digest.mail.message import CompiledMessage, ListHeaders, personalise_message, prepare_message, subject_line
from digest.mail.outbox import OutboxTransport
from digest.mail.signing import dot_stuffs, signer_for, stuffed_lines
from digest.mail.smtp import SMTPTransport
from digest.mail.transport import Transport
from digest.models import Digest, Profile, Subscriber, Topic
from digest.ranking.filters import matches
from digest.ranking.follows import AuthorIndex, followed_first
from digest.ranking.grouping import topics_of
from digest.ranking.kept import Ranker, ranker_for
from digest.ranking.rank import Ranking, first_unvoted
from digest.store import Store
from digest.tokens import make_token

if TYPE_CHECKING:
    from digest.site.render import Renderer


#: Bodies kept for readers without a profile, at most (one per filter and length of links, usually a few).
LINKLESS_KEPT = 64


def make_transport(config: Config) -> Transport:
    if config.delivery.smtp_url:
        return SMTPTransport(
            config.delivery.smtp_url,
            sender=config.email.sender,
            timeout=config.delivery.timeout.total_seconds(),
            data_timeout=config.delivery.data_timeout.total_seconds(),
            rate=config.delivery.rate,
        )
    return OutboxTransport(config.delivery.outbox)


class Mailer:
    """A digest's mail: rendered once, ranked and assembled for each reader (see :mod:`digest.mail.assemble`)."""

    def __init__(
        self,
        digest: Digest,
        config: Config,
        renderer: Renderer | None,
        date: dt.datetime,
        wire_format: Callable[[bytes], bytes],
        *,
        topics: Sequence[Topic],
        ranker: Ranker,
        email: DigestEmail | None = None,
    ) -> None:
        """``email``: the digest's blocks in ``wire_format`` (else rendered with ``renderer``)."""
        self.digest = digest
        self.config = config
        if email is None:
            assert renderer is not None, "a mailer renders its blocks, or is given them"
            email = render_email(digest, renderer, topics, wire_format=wire_format)
        self.email = email
        self.ranker = ranker
        self.cap = min(len(digest.papers), MAIL_PAPERS)  # the papers a mail draws on (the blocks')
        self.date = date
        self.wire_format = wire_format
        self.headers = ListHeaders(
            list_id=config.email.list_id,
            list_name=config.site.title,
            unsubscribe_mailto=config.email.unsubscribe_mailto,
        )
        self.skeletons: dict[int, CompiledMessage] = {}
        self.signer = signer_for(config)
        self.wire = dot_stuffs(wire_format)  # (SMTP's wire form: CRLF line ends, dot-stuffed)
        self.stuffed = self.wire and any(stuffed_lines(part.every()) for part in (email.html, email.text))
        self.filtered: dict[tuple[tuple[str, ...], tuple[str, ...]], frozenset[int] | None] = {}
        self.linkless: dict[tuple[object, ...], Linkless] = {}
        self._authors: AuthorIndex | None = None

    def warm(self, store: Store | None, profiles: Iterable[Profile]) -> None:
        """Get ready to rank a batch of readers: the rows their profiles need, read (or made) at once."""
        self.ranker.prepare(store, profiles)

    def profiles(self, store: Store, subscribers: Sequence[Subscriber]) -> dict[int, Profile]:
        """A batch of readers' profiles, ready to rank (:meth:`warm`). Their votes' abstracts are read only for
        readers whose rows are not all in memory (their rows may have to be made from the texts)."""
        profiles = store.profiles.for_subscribers(subscribers, texts=False)
        if self.ranker.may_forget(profiles.values()):  # (any row may have to be made: from the whole texts)
            lacking = list(subscribers)
        elif not self.ranker.rows.missing(profiles.values()):  # (the usual case: every row is held already)
            lacking = []
        else:
            lacking = [subscriber for subscriber in subscribers if self.ranker.rows.missing([profiles[subscriber.id]])]
        if lacking:
            profiles.update(store.profiles.for_subscribers(lacking))
        self.warm(store, profiles.values())
        return profiles

    def rank(self, subscriber: Subscriber, profile: Profile) -> Ranking:
        """The reader's order of the digest, with reasons for as many papers as can reach For you once their
        filter has spoken (their rows ready: see :meth:`warm`), the papers of authors they follow first."""
        return self.rank_many([(subscriber, profile)])[0]

    def rank_many(self, readers: Sequence[tuple[Subscriber, Profile]]) -> list[Ranking]:
        """:meth:`rank` for a batch of readers, ranked together."""
        rankings = self.ranker.rank_many([profile for _, profile in readers], [self.explain(s) for s, _ in readers])
        for number, (_, profile) in enumerate(readers):
            if profile.follows:  # (papers by the authors they follow go first: a dict look-up per name)
                rankings[number] = followed_first(rankings[number], self.authors.followed(profile.follows))
        return rankings

    def explain(self, subscriber: Subscriber) -> int:
        """How many of the reader's first papers are given a reason: as many as can reach For you once their
        filter has spoken."""
        within, _ = self.within(self.allowed(subscriber))
        return self.for_you + (len(self.digest.papers) - len(within) if within is not None else 0)

    @property
    def authors(self) -> AuthorIndex:
        """The digest's authors, indexed once (when the first reader who follows authors is ranked)."""
        if self._authors is None:
            self._authors = AuthorIndex(self.digest.papers[: self.cap])  # (the papers a mail draws on)
        return self._authors

    def within(self, allowed: frozenset[int] | None) -> tuple[frozenset[int] | None, int]:
        """The papers of ``allowed`` (None: all) that a mail draws on (a huge digest's first only), and how many
        more lie beyond them (they count among those the mail leaves to the archive)."""
        if self.cap == len(self.digest.papers):
            return allowed, 0
        within = frozenset(i for i in (range(self.cap) if allowed is None else allowed) if i < self.cap)
        return within, (len(self.digest.papers) if allowed is None else len(allowed)) - len(within)

    @property
    def for_you(self) -> int:
        return self.config.email.weekly_for_you if self.digest.weekly else self.config.email.for_you

    def allowed(self, subscriber: Subscriber) -> frozenset[int] | None:
        """The papers the subscriber's hard filter lets through (None: all of them)."""
        key = subscriber.filter_key
        if key not in self.filtered:
            if not subscriber.include and not subscriber.exclude:
                self.filtered[key] = None
            else:
                papers = self.digest.papers
                self.filtered[key] = frozenset(i for i, paper in enumerate(papers) if matches(paper, *key))
        return self.filtered[key]

    def bodies(
        self,
        subscriber: Subscriber,
        ranking: Ranking,
        *,
        personal: bool,
        secret: bytes,
        unsubscribe: str | None = None,
    ) -> Assembled | None:
        """The subscriber's HTML and text bodies; None when their filter leaves nothing to send.

        ``ranking``: theirs (:meth:`rank`); ``personal``: ranked for a profile, not the listing's order."""
        allowed = self.allowed(subscriber)
        if allowed is not None and not allowed:
            return None
        within, beyond = self.within(allowed)
        for_you = first_unvoted(ranking, self.for_you, within)  # (papers they voted for go to Also new)
        reader = Reader(
            order=ranking.order,
            reasons=ranking.reasons,
            personal=personal,
            vote_url=vote_url(self.config, secret, subscriber),
            unsubscribe_url=unsubscribe or unsubscribe_url(self.config, secret, subscriber),
            preferences_url=preferences_url(self.config, secret, subscriber),
        )
        if personal:
            return assemble(self.email, reader, for_you=for_you, allowed=within, beyond=beyond)
        # The listing's order: every such reader's mail within a filter is the same but for its links.
        links = (len(reader.vote_url), len(reader.unsubscribe_url), len(reader.preferences_url))
        key = (reader.order, tuple(reader.reasons.items()), within, beyond, for_you, links)
        shared = self.linkless.get(key)
        if shared is None:
            if len(self.linkless) >= LINKLESS_KEPT:
                self.linkless.clear()
            shared = self.linkless[key] = linkless(self.email, reader, for_you=for_you, allowed=within, beyond=beyond)
        return shared.filled(reader)

    def skeleton(self, count: int) -> CompiledMessage:
        """The message around the bodies, its subject counting the reader's papers (one per filter)."""
        if count not in self.skeletons:
            subject = subject_line(subject_template(self.config, self.digest), date=self.digest.date, count=count)
            template = prepare_message(subject, sender=self.config.email.sender, date=self.date, headers=self.headers)
            self.skeletons[count] = template.compile(self.wire_format)
        return self.skeletons[count]

    def message(
        self, subscriber: Subscriber, ranking: Ranking, *, personal: bool, secret: bytes, message_id: str
    ) -> bytes | None:
        """The subscriber's whole message, ready for the transport; None when there is nothing to send."""
        unsubscribe = unsubscribe_url(self.config, secret, subscriber)
        bodies = self.bodies(subscriber, ranking, personal=personal, secret=secret, unsubscribe=unsubscribe)
        if bodies is None:
            return None
        skeleton = self.skeleton(bodies.shown + bodies.left_out)
        data = personalise_message(
            skeleton,
            recipient=subscriber.email,
            message_id=message_id,
            unsubscribe_url=unsubscribe,
            html_body=bodies.html,
            text_body=bodies.text,
        )
        if self.signer is None:
            return data
        stuffed = self.stuffed or (self.wire and stuffed_lines(skeleton.pieces))
        return self.signer.sign(data, stuffed=stuffed, wire=self.wire)


def mailer_for(
    store: Store,
    config: Config,
    digest: Digest,
    *,
    transport: Transport,
    now: dt.datetime,
    topics: Sequence[Topic] | None = None,
    scope: str | None = None,
) -> Mailer:
    """The digest's mail, rendered once (or found rendered in the store) and ready to rank for each reader
    (its ranking kept in the store: see :mod:`digest.ranking.kept`; ``scope``: a week's mail's)."""
    from digest.mail.kept_email import email_for

    def renderer() -> Renderer:
        from digest.site.render import Renderer

        return Renderer(config.site, config.email, config.templates, inline_cache=store.rendered_html(now))

    topics = topics if topics is not None else topics_of(store, digest)
    email = email_for(store, config, digest, topics, now=now, wire_format=transport.wire_format, renderer=renderer)
    return Mailer(
        digest,
        config,
        None,
        now,
        transport.wire_format,
        topics=topics,
        ranker=ranker_for(store, digest, scope=scope, now=now),
        email=email,
    )


def subject_template(config: Config, digest: Digest) -> str:
    return config.email.weekly_subject if digest.weekly else config.email.subject


def preferences_url(config: Config, key: bytes, subscriber: Subscriber) -> str:
    """The subscriber's preferences page (interests, votes, frequency): no login, the signed link is the key."""
    return f"{config.site.url}preferences/{make_token(key, 'preferences', subscriber.id, subscriber.email)}"


def vote_url(config: Config, key: bytes, subscriber: Subscriber) -> str:
    """The start of a subscriber's vote links: a paper's adds "/<paper id>/more" or "/less"."""
    return f"{config.site.url}vote/{make_token(key, 'vote', subscriber.id, subscriber.email)}"


def unsubscribe_url(config: Config, key: bytes, subscriber: Subscriber) -> str:
    return f"{config.site.url}unsubscribe/{make_token(key, 'unsubscribe', subscriber.id, subscriber.email)}"
