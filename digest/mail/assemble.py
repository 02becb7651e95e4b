"""One reader's mail, assembled from the digest's ready blocks in that reader's order. Pure.

- **For you** (or **Top papers** for a reader without a profile): the first
  ``for_you`` papers of the reader's order, as cards with their TL;DR, the
  reason they are there, and "More like this" / "Less like this" links.
- **Also new**: every other paper as one compact line, grouped by the digest's
  topics (the same groups for every reader), after a short table of contents.

Every paper the reader's filter lets through is in the mail once. The HTML is
kept under :data:`~digest.site.EMAIL_HTML_BUDGET` (Gmail clips longer mail):
when the lines would pass it, the last ones give way to a link to the archive.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from digest.mail.blocks import Blocks, DigestEmail, Tokens
from digest.site import EMAIL_HTML_BUDGET

PREHEADER_TITLES = 3
PREHEADER_CHARS = 140
#: The For you cards may take this share of the HTML budget; the compact lines have the rest.
CARDS_SHARE = 0.7


@dataclass(frozen=True, slots=True)
class Reader:
    """What one reader's mail needs besides the digest: their order, reasons and links."""

    order: Sequence[int]  # paper indexes, best first (the listing's order without a profile)
    reasons: Mapping[int, str]
    personal: bool  # ranked for them ("For you"), or the listing's order ("Top papers")
    vote_url: str  # "<site>vote/<token>": a paper's links append "/<id>/more" or "/<id>/less"
    unsubscribe_url: str
    preferences_url: str = ""


@dataclass(frozen=True, slots=True)
class Assembled:
    html: bytes
    text: bytes
    shown: int  # papers in the mail
    left_out: int  # papers past the size budget, reachable through the archive link


def assemble(
    email: DigestEmail,
    reader: Reader,
    *,
    for_you: int,
    allowed: Collection[int] | None = None,
    beyond: int = 0,
) -> Assembled:
    """The reader's HTML and text bodies (in the blocks' wire format); ``allowed`` is their filter's papers,
    ``beyond`` how many more of them are past the papers a mail draws on (they count among those left out)."""
    return _assemble(email, reader, reader, for_you=for_you, allowed=allowed, beyond=beyond)


@dataclass(frozen=True, slots=True)
class Linkless:
    """A reader's bodies with their three links left as the digest's tokens, cut at them. Readers whose mails
    differ only by their links (every reader without a profile, within one filter) share one: each of their
    bodies is then one join of its pieces and their links."""

    html: tuple[tuple[bytes, ...], tuple[int, ...]]  # the pieces, and which link goes after each but the last
    text: tuple[tuple[bytes, ...], tuple[int, ...]]
    shown: int
    left_out: int

    def filled(self, reader: Reader) -> Assembled:
        links = (reader.unsubscribe_url, reader.preferences_url, reader.vote_url)
        escaped = [html.escape(link, quote=True).encode("utf-8") for link in links]
        plain = [link.encode("utf-8") for link in links]
        return Assembled(_join(*self.html, escaped), _join(*self.text, plain), self.shown, self.left_out)


def linkless(
    email: DigestEmail, reader: Reader, *, for_you: int, allowed: Collection[int] | None = None, beyond: int = 0
) -> Linkless:
    """:func:`assemble` with the reader's links left as tokens (the layout is still the reader's own: the
    size budget counts their links' lengths)."""
    tokens = email.tokens
    stand_in = Reader(
        reader.order, reader.reasons, reader.personal, tokens.vote, tokens.unsubscribe, tokens.preferences
    )
    made = _assemble(email, reader, stand_in, for_you=for_you, allowed=allowed, beyond=beyond)
    links = tuple(token.encode() for token in (tokens.unsubscribe, tokens.preferences, tokens.vote))
    return Linkless(
        _cut_at.__wrapped__(made.html, links), _cut_at.__wrapped__(made.text, links), made.shown, made.left_out
    )


def _join(pieces: tuple[bytes, ...], slots: tuple[int, ...], values: list[bytes]) -> bytes:
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out += (values[slot], piece)
    return b"".join(out)


def _assemble(
    email: DigestEmail,
    reader: Reader,
    filling: Reader,
    *,
    for_you: int,
    allowed: Collection[int] | None = None,
    beyond: int = 0,
) -> Assembled:
    """The bodies laid out for ``reader`` (their order, reasons and links' lengths), filled with ``filling``."""
    order = [index for index in reader.order if allowed is None or index in allowed]
    top = _cards_within_budget(email.html, order[:for_you])
    rest = set(order[len(top) :])
    groups = [(number, [i for i in topic.members if i in rest]) for number, topic in enumerate(email.topics)]
    groups = [(number, members) for number, members in groups if members]
    kept = _within_budget(email.html, reader, top, groups)
    shown = len(top) + sum(len(members) for _, members in kept)
    left_out = len(order) - shown + beyond
    html_body = _body(email, email.html, filling, top, kept, left_out, len(order) + beyond, escape=True)
    text_body = _body(email, email.text, filling, top, kept, left_out, len(order) + beyond, escape=False)
    return Assembled(html_body, text_body, shown, left_out)


def _cards_within_budget(blocks: Blocks, top: list[int]) -> list[int]:
    """The first papers of ``top`` whose cards fit in most of the budget (a large ``for_you`` setting)."""
    size = len(blocks.head) + len(blocks.tail) + len(blocks.for_you)
    kept: list[int] = []
    for index in top:
        size += len(blocks.cards[index][0]) + len(blocks.cards[index][1]) + len(blocks.reason) + 300
        if size > CARDS_SHARE * EMAIL_HTML_BUDGET and kept:
            break
        kept.append(index)
    return kept


def _within_budget(
    blocks: Blocks, reader: Reader, top: list[int], groups: list[tuple[int, list[int]]]
) -> list[tuple[int, list[int]]]:
    """The groups and lines that fit the HTML budget, in order; the rest give way to the archive link."""
    size = len(blocks.head) + len(blocks.for_you) + len(blocks.tail) + len(blocks.more) + 200
    size += (
        (len(reader.unsubscribe_url) + len(reader.preferences_url)) * 2
        + len(reader.vote_url) * 2 * len(top)
        + PREHEADER_CHARS * 2
    )
    size += sum(len(blocks.cards[i][0]) + len(blocks.cards[i][1]) + len(blocks.reason) + 300 for i in top)
    if groups:
        size += len(blocks.also_new) + len(blocks.contents_end) + len(blocks.contents_separator) * len(groups)
        size += sum(len(blocks.contents[number]) + len(blocks.topics[number]) for number, _ in groups)
    if size + blocks.all_lines - sum(len(blocks.lines[index]) for index in top) <= EMAIL_HTML_BUDGET:
        return groups  # everything fits (the usual case)
    size -= sum(len(blocks.contents[number]) + len(blocks.topics[number]) for number, _ in groups)
    kept: list[tuple[int, list[int]]] = []
    for number, members in groups:
        size += len(blocks.contents[number]) + len(blocks.topics[number])
        lines = []
        for index in members:
            size += len(blocks.lines[index])
            if size > EMAIL_HTML_BUDGET:
                break
            lines.append(index)
        if lines:
            kept.append((number, lines))
        if size > EMAIL_HTML_BUDGET:
            break
    return kept


def _body(
    email: DigestEmail,
    blocks: Blocks,
    reader: Reader,
    top: list[int],
    groups: list[tuple[int, list[int]]],
    left_out: int,
    papers: int,
    *,
    escape: bool,
) -> bytes:
    """The body: blocks joined, per-reader values filled into the (small) blocks that hold their tokens.

    Each block is cut at its tokens once per digest (:func:`_cut`); a reader's copy joins the pieces with
    their values, so no block is searched or copied per reader."""
    tokens = email.tokens

    def value(text: str) -> bytes:
        return (html.escape(text, quote=True) if escape else text).encode("utf-8")

    links = (value(reader.unsubscribe_url), value(reader.preferences_url))
    counts, preheader = value(counts_text(papers, len(email.titles))), value(_preheader(email, top, papers))
    vote = value(reader.vote_url)
    parts = _filled(blocks.head, _head_tokens(tokens), (*links, counts, preheader))
    if top:
        parts.append(blocks.for_you if reader.personal else blocks.top)
    reason_token = tokens.reason.encode()
    vote_token = tokens.vote.encode()
    for index in top:
        before, after = blocks.cards[index]
        parts.append(vote.join(_cut(before, vote_token)))
        reason = reader.reasons.get(index)
        if reason:
            parts.append(value(reason).join(_cut(blocks.reason, reason_token)))
        parts.append(vote.join(_cut(after, vote_token)))
    if groups:
        parts.append(blocks.also_new)
        entries = [_contents(blocks.contents[number], tokens.count, len(lines)) for number, lines in groups]
        parts.append(blocks.contents_separator.join(entries))
        parts.append(blocks.contents_end)
        for number, lines in groups:
            parts.append(blocks.topics[number])
            if len(lines) == len(email.topics[number].members):
                parts.append(blocks.topic_lines[number])  # the whole topic: joined once per digest
            else:
                parts += [blocks.lines[index] for index in lines]
    if left_out:
        more = f"{left_out} more {'paper' if left_out == 1 else 'papers'}"
        parts.append(blocks.more.replace(tokens.more.encode(), more.encode()))
    parts += _filled(blocks.tail, _head_tokens(tokens)[:2], links)
    return b"".join(parts)


@functools.lru_cache(maxsize=8)
def _head_tokens(tokens: Tokens) -> tuple[bytes, ...]:
    """The tokens of the head (and, the first two, of the tail), in the order :func:`_body` gives their values."""
    return tuple(token.encode() for token in (tokens.unsubscribe, tokens.preferences, tokens.counts, tokens.preheader))


@functools.lru_cache(maxsize=8192)
def _cut(block: bytes, token: bytes) -> tuple[bytes, ...]:
    """A block cut at a token (a value is filled in by ``value.join``); kept, as every reader needs it."""
    return tuple(block.split(token))


@functools.lru_cache(maxsize=64)
def _cut_at(block: bytes, tokens: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """A block cut at several tokens: its pieces, and which token (by index) comes after each but the last."""
    pattern = re.compile(b"|".join(re.escape(token) for token in tokens))
    pieces, slots, last = [], [], 0
    for match in pattern.finditer(block):
        pieces.append(block[last : match.start()])
        slots.append(tokens.index(match.group(0)))
        last = match.end()
    pieces.append(block[last:])
    return tuple(pieces), tuple(slots)


def _filled(block: bytes, tokens: tuple[bytes, ...], values: tuple[bytes, ...]) -> list[bytes]:
    """The block's pieces with each token's value between them (a list to join)."""
    pieces, slots = _cut_at(block, tokens)
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out += (values[slot], piece)
    return out


@functools.lru_cache(maxsize=4096)
def _contents(block: bytes, token: str, count: int) -> bytes:
    """A topic's contents entry with the count of its papers in this mail (few counts recur: kept)."""
    return block.replace(token.encode(), str(count).encode())


def counts_text(papers: int, total: int) -> str:
    """ "3 new papers": what the reader's mail holds, as its subject counts them (and what their filter left out)."""
    text = f"{papers} new {'paper' if papers == 1 else 'papers'}"
    return text if papers == total else f"{text} (your filter leaves out {total - papers})"


def _preheader(email: DigestEmail, top: list[int], papers: int) -> str:
    titles = "; ".join(email.titles[index] for index in top[:PREHEADER_TITLES])
    text = f"{papers} new: {titles}"
    return text if len(text) <= PREHEADER_CHARS else text[: PREHEADER_CHARS - 1].rstrip() + "…"
