"""The digest's email, rendered once as blocks that every reader's mail is assembled from. Pure.

``email.html.j2`` and ``email.txt.j2`` render a specimen holding every block
once: the head and the tail, a card per paper (For you), a compact line per
paper (Also new), a heading and a contents entry per topic. The HTML specimen
goes through premailer once; the blocks are then cut out at their ``digest:``
comments, folded for SMTP and put in the transport's wire format, so that a
reader's mail is a join of ready bytes (see :mod:`digest.mail.assemble`). What
differs per reader (the preheader, each card's reason, the contents' counts,
the vote, preferences and unsubscribe links) is a token in the blocks.

Listing text is hostile: a title may hold ``<!--digest:tail-->`` or a token.
The renderer writes every block marker with a nonce (``<!--digest:card:N-->``),
and the tokens carry it too; the nonce is a hash of everything the templates are
given, so no text in it can contain it, and the blocks are cut at the nonce'd
markers only. A paper's text stays in its own card whatever it holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.errors import ConfigError
from digest.mail.message import fold_long_lines, subject_line
from digest.models import Digest, Topic

if TYPE_CHECKING:
    from digest.site.render import Renderer

#: Block lines are folded shorter than SMTP's limit, leaving room for the values filled in per reader.
BLOCK_LINE = 800
#: A mail draws on the digest's first papers (in its listing's order), this many: a mail shows ten cards and
#: what fits in 100 KB (a few hundred lines), so more blocks would never be read; the rest is in the archive.
MAIL_PAPERS = 2000


@dataclass(frozen=True, slots=True)
class Tokens:
    """The per-reader tokens of a digest's blocks, carrying the digest's nonce (so no listing text can hold one)."""

    preheader: str
    reason: str
    count: str
    more: str
    vote: str
    unsubscribe: str
    preferences: str
    counts: str  # "3 new papers": the papers this reader's mail holds

    @classmethod
    def with_nonce(cls, nonce: str) -> Tokens:
        return cls(
            *(
                f"%%{name}-{nonce}%%"
                for name in ("preheader", "reason", "count", "more", "vote", "unsubscribe", "preferences", "counts")
            )
        )


def block_nonce(*given: object) -> str:
    """A nonce no text among ``given`` can contain: a hash over all of it (a text holding the hash of itself
    cannot be written). Deterministic, so the same digest gives the same document (and its inlining is kept)."""
    return hashlib.sha256(repr(given).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Blocks:
    """One part's (HTML or text) blocks, as bytes in the transport's wire format."""

    head: bytes
    for_you: bytes
    top: bytes
    cards: tuple[tuple[bytes, bytes], ...]  # per paper: the card before and after its reason
    reason: bytes
    also_new: bytes
    contents: tuple[bytes, ...]  # per topic
    contents_end: bytes
    topics: tuple[bytes, ...]
    lines: tuple[bytes, ...]  # per paper
    more: bytes
    tail: bytes
    topic_lines: tuple[bytes, ...] = ()  # per topic: the lines of all its papers, joined
    contents_separator: bytes = b""  # between two contents entries (" · " in HTML; the text part has none)
    # Sizes a mail's budget adds up per reader, found once: per paper its card (before and after its reason)
    # and its line; per topic its contents entry and heading; all lines.
    card_sizes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    line_sizes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    topic_sizes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    all_lines: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = {
            "card_sizes": tuple(len(before) + len(after) for before, after in self.cards),
            "line_sizes": tuple(map(len, self.lines)),
            "topic_sizes": tuple(map(sum, zip(map(len, self.contents), map(len, self.topics), strict=True))),
            "all_lines": sum(map(len, self.topic_lines)),
        }
        for name, value in found.items():
            object.__setattr__(self, name, value)

    def every(self) -> Iterator[bytes]:
        """Every block a mail is joined from."""
        yield from (self.head, self.for_you, self.top, self.reason, self.also_new, self.contents_end, self.more)
        yield from (self.tail, self.contents_separator, *self.contents, *self.topics, *self.lines)
        for before, after in self.cards:
            yield from (before, after)


@dataclass(frozen=True, slots=True)
class DigestEmail:
    """Everything of a digest's email that is the same for every reader."""

    subject: str
    titles: tuple[str, ...]  # per paper, for the preheader
    topics: tuple[Topic, ...]
    html: Blocks
    text: Blocks
    tokens: Tokens
    total: int = 0  # papers in the digest; the blocks hold the first MAIL_PAPERS of them


def mailable(digest: Digest, topics: Sequence[Topic]) -> tuple[Digest, list[Topic]]:
    """The digest as far as a mail draws on it (its first :data:`MAIL_PAPERS` papers), and their topics."""
    if len(digest.papers) <= MAIL_PAPERS:
        return digest, list(topics)
    shown = [Topic(topic.label, tuple(i for i in topic.members if i < MAIL_PAPERS)) for topic in topics]
    return dataclasses.replace(digest, papers=digest.papers[:MAIL_PAPERS]), [topic for topic in shown if topic.members]


def render_email(
    digest: Digest,
    renderer: Renderer,
    topics: Sequence[Topic],
    *,
    wire_format: Callable[[bytes], bytes] = lambda data: data,
) -> DigestEmail:
    """Render and inline the digest's email once (as far as a mail draws on it), and cut it into blocks."""
    from digest.site.render import digest_view

    total = digest.new_count
    template = renderer.email.weekly_subject if digest.weekly else renderer.email.subject
    subject = subject_line(template, date=digest.date, count=total)
    digest, topics = mailable(digest, topics)
    view = dataclasses.replace(digest_view(digest, renderer.site), new_count=total)
    nonce = block_nonce(view, tuple(topics), digest.published_at.isoformat())
    tokens = Tokens.with_nonce(nonce)
    context = {
        "block_nonce": nonce,
        "digest": view,
        "papers": view.papers,
        "topics": topics,
        "preheader": tokens.preheader,
        "reason": tokens.reason,
        "count": tokens.count,
        "more": tokens.more,
        "vote_url": tokens.vote,
        "unsubscribe_url": tokens.unsubscribe,
        "preferences_url": tokens.preferences,
        "counts": tokens.counts,
    }
    html = renderer.inlined(renderer.render("email.html.j2", **context))
    text = renderer.render("email.txt.j2", **context)
    email = DigestEmail(
        subject=subject,
        titles=tuple(paper.title for paper in view.papers),
        topics=tuple(topics),
        html=_blocks(html, len(digest.papers), topics, tokens, nonce, "email.html.j2"),
        text=_blocks(text, len(digest.papers), topics, tokens, nonce, "email.txt.j2"),
        tokens=tokens,
        total=total,
    )
    return in_wire_format(email, wire_format)


def in_wire_format(email: DigestEmail, wire: Callable[[bytes], bytes]) -> DigestEmail:
    """The email's blocks (as rendered: folded, UTF-8, LF line ends) put in a transport's wire format."""

    def ready(block: bytes) -> bytes:
        return wire(block) if block else b""

    def each(blocks: Blocks) -> Blocks:
        lines = tuple(map(ready, blocks.lines))
        return Blocks(
            head=ready(blocks.head),
            for_you=ready(blocks.for_you),
            top=ready(blocks.top),
            cards=tuple((ready(before), ready(after)) for before, after in blocks.cards),
            reason=ready(blocks.reason),
            also_new=ready(blocks.also_new),
            contents=tuple(map(ready, blocks.contents)),
            contents_end=ready(blocks.contents_end),
            topics=tuple(map(ready, blocks.topics)),
            lines=lines,
            more=ready(blocks.more),
            tail=ready(blocks.tail),
            topic_lines=tuple(b"".join(lines[index] for index in topic.members) for topic in email.topics),
            contents_separator=ready(blocks.contents_separator),
        )

    return dataclasses.replace(email, html=each(email.html), text=each(email.text))


def _blocks(
    document: str,
    papers: int,
    topics: Sequence[Topic],
    tokens: Tokens,
    nonce: str,
    template: str,
) -> Blocks:
    def ready(text: str) -> bytes:
        return fold_long_lines(text, BLOCK_LINE).encode("utf-8")

    block = re.compile(
        rf"<!--digest:(?P<name>[a-z-]+):{nonce}-->\n?(?P<body>.*?)<!--/digest:(?P=name):{nonce}-->\n?", re.DOTALL
    )
    head_end = re.compile(rf"<!--digest:head:{nonce}-->\n?").search(document)
    tail_start = re.compile(rf"<!--digest:tail:{nonce}-->\n?").search(document)
    if head_end is None or tail_start is None:
        raise _template_error(template, "lacks its <!--digest:head--> or <!--digest:tail--> marker")
    found: dict[str, list[str]] = {}
    for match in block.finditer(document, head_end.end(), tail_start.start()):
        found.setdefault(match["name"], []).append(match["body"])
    cards = []
    reason = ""
    for card in found.get("card", []):
        before, _, rest = card.partition(f"<!--digest:reason:{nonce}-->")
        reason, _, after = rest.partition(f"<!--/digest:reason:{nonce}-->")
        cards.append((ready(before), ready(after.removeprefix("\n"))))
    reason = reason.removeprefix("\n")
    expected = {"card": papers, "line": papers, "contents": len(topics), "topic": len(topics)}
    for name, count in expected.items():
        if len(found.get(name, [])) != count:
            per = "topic" if name in ("contents", "topic") else "paper"
            raise _template_error(template, f"has {len(found.get(name, []))} '{name}' blocks, not one per {per}")

    def one(name: str) -> bytes:
        return ready(found.get(name, [""])[0])

    _check_tokens(document, head_end.end(), tail_start.start(), found, tokens, template)
    lines = tuple(ready(block) for block in found.get("line", []))
    return Blocks(
        head=ready(document[: head_end.start()]),
        for_you=one("for-you"),
        top=one("top"),
        cards=tuple(cards),
        reason=ready(reason),
        also_new=one("also-new"),
        contents=tuple(ready(block) for block in found.get("contents", [])),
        contents_end=one("contents-end"),
        topics=tuple(ready(block) for block in found.get("topic", [])),
        lines=lines,
        more=one("more"),
        tail=ready(document[tail_start.end() :]),
        contents_separator=one("contents-separator"),
    )


def _check_tokens(
    document: str, start: int, end: int, found: dict[str, list[str]], tokens: Tokens, template: str
) -> None:
    """Per-reader values are filled in where the bundled templates have them; anywhere else is an error."""
    allowed = {
        tokens.vote: ("card",),
        tokens.unsubscribe: (),
        tokens.preferences: (),
        tokens.counts: (),
        tokens.preheader: (),
        tokens.reason: ("card",),
        tokens.count: ("contents",),
        tokens.more: ("more",),
    }
    names = {tokens.vote: "vote_url", tokens.unsubscribe: "unsubscribe_url", tokens.preheader: "preheader"}
    names |= {
        tokens.reason: "reason",
        tokens.count: "count",
        tokens.more: "more",
        tokens.preferences: "preferences_url",
        tokens.counts: "counts",
    }
    for token, blocks in allowed.items():
        inside = sum(block.count(token) for name in blocks for block in found.get(name, []))
        if document.count(token, start, end) != inside:
            where = ", ".join(f"'{name}' blocks" for name in blocks) or "the head and the tail"
            raise _template_error(template, f"uses {names[token]} outside {where}")


def _template_error(template: str, problem: str) -> ConfigError:
    return ConfigError(
        "templates",
        template,
        problem,
        hint="start from the bundled templates/" + template + " and keep its <!--digest:...--> markers",
    )
