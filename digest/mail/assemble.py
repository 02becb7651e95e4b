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

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from digest.mail.blocks import Blocks, DigestEmail
from digest.mail.pieces import (
    card_tokens,
    contents_entry,
    cut_at,
    cut_once,
    escaped,
    escaped_link,
    filled,
    head_tokens,
    joined,
    plain,
)
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
        in_html = [escaped_link(link) for link in links]
        in_text = [plain(link) for link in links]
        return Assembled(joined(*self.html, in_html), joined(*self.text, in_text), self.shown, self.left_out)


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
        cut_at.__wrapped__(made.html, links), cut_at.__wrapped__(made.text, links), made.shown, made.left_out
    )


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
    order = list(reader.order) if allowed is None else [index for index in reader.order if index in allowed]
    top = _cards_within_budget(email.html, order[:for_you])
    groups = _groups(email, top, order, allowed)
    kept = _within_budget(email.html, reader, top, groups)
    shown = len(top) + sum(len(members) for _, members in kept)
    left_out = len(order) - shown + beyond
    papers = len(order) + beyond
    said = (counts_text(papers, len(email.titles)), _preheader(email, top, papers))
    html_body = _body(email, email.html, filling, top, kept, left_out, said, escape=True)
    text_body = _body(email, email.text, filling, top, kept, left_out, said, escape=False)
    return Assembled(html_body, text_body, shown, left_out)


def _groups(
    email: DigestEmail, top: list[int], order: list[int], allowed: Collection[int] | None
) -> list[tuple[int, list[int]]]:
    """The digest's topics (by number) with their papers that are in the reader's mail but not among ``top``;
    topics left empty are left out. (A topic none of whose papers is in ``top`` or filtered out is whole.)"""
    if allowed is None:
        taken = set(top)
        groups = [
            (number, list(topic.members) if taken.isdisjoint(topic.members) else
             [i for i in topic.members if i not in taken])
            for number, topic in enumerate(email.topics)
        ]  # fmt: skip
    else:
        rest = set(order[len(top) :])
        groups = [(number, [i for i in topic.members if i in rest]) for number, topic in enumerate(email.topics)]
    return [(number, members) for number, members in groups if members]


def _cards_within_budget(blocks: Blocks, top: list[int]) -> list[int]:
    """The first papers of ``top`` whose cards fit in most of the budget (a large ``for_you`` setting)."""
    size = len(blocks.head) + len(blocks.tail) + len(blocks.for_you)
    sizes, each = blocks.card_sizes, len(blocks.reason) + 300
    if size + sum(map(sizes.__getitem__, top)) + each * len(top) <= CARDS_SHARE * EMAIL_HTML_BUDGET:
        return top  # (every card fits: the usual case)
    kept: list[int] = []
    for index in top:
        size += sizes[index] + each
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
    size += sum(map(blocks.card_sizes.__getitem__, top)) + (len(blocks.reason) + 300) * len(top)
    sections = blocks.topic_sizes
    lengths = blocks.line_sizes
    if groups:
        size += len(blocks.also_new) + len(blocks.contents_end) + len(blocks.contents_separator) * len(groups)
        size += sum(sections[number] for number, _ in groups)
    if size + blocks.all_lines - sum(map(lengths.__getitem__, top)) <= EMAIL_HTML_BUDGET:
        return groups  # everything fits (the usual case)
    size -= sum(sections[number] for number, _ in groups)
    kept: list[tuple[int, list[int]]] = []
    for number, members in groups:
        size += sections[number]
        ends = list(accumulate(map(lengths.__getitem__, members)))  # (where each line ends, from the group's start)
        fit = bisect_right(ends, EMAIL_HTML_BUDGET - size)  # (the lines that end within the budget)
        if fit:
            kept.append((number, members[:fit]))
        if fit < len(members):
            break  # (the next line would pass the budget)
        size += ends[-1]
    return kept


def _body(
    email: DigestEmail,
    blocks: Blocks,
    reader: Reader,
    top: list[int],
    groups: list[tuple[int, list[int]]],
    left_out: int,
    said: tuple[str, str],
    *,
    escape: bool,
) -> bytes:
    """The body: blocks joined, per-reader values filled into the (small) blocks that hold their tokens.

    Each block is cut at its tokens once per digest (:func:`cut_once`, :func:`cut_at`); a reader's copy is one
    join of the pieces and their values, so no block is searched or copied per reader. ``said``: the counts
    line and the preheader."""
    tokens = email.tokens
    value = escaped if escape else plain  # (shared values: kept escaped)
    link = escaped_link if escape else plain  # (the reader's own)
    links = (link(reader.unsubscribe_url), link(reader.preferences_url))
    parts = filled(blocks.head, head_tokens(tokens), (*links, value(said[0]), value(said[1])))
    if top:
        parts.append(blocks.for_you if reader.personal else blocks.top)
    vote_token, reason_token = card_tokens(tokens)
    vote = link(reader.vote_url)
    reason_pieces = cut_once(blocks.reason, reason_token)
    reasons = reader.reasons
    for index in top:  # (a card: the part before its reason, the reason if it has one, the part after)
        before, after = blocks.cards[index]
        parts.append(vote.join(cut_once(before, vote_token)))
        reason = reasons.get(index)
        if reason:
            parts.append(value(reason).join(reason_pieces))
        parts.append(vote.join(cut_once(after, vote_token)))
    if groups:
        parts.append(blocks.also_new)
        entries = [contents_entry(blocks.contents[number], tokens.count, len(lines)) for number, lines in groups]
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
    parts += filled(blocks.tail, head_tokens(tokens)[:2], links)
    return b"".join(parts)


def counts_text(papers: int, total: int) -> str:
    """ "3 new papers": what the reader's mail holds, as its subject counts them (and what their filter left out)."""
    text = f"{papers} new {'paper' if papers == 1 else 'papers'}"
    return text if papers == total else f"{text} (your filter leaves out {total - papers})"


def _preheader(email: DigestEmail, top: list[int], papers: int) -> str:
    titles = "; ".join(email.titles[index] for index in top[:PREHEADER_TITLES])
    text = f"{papers} new: {titles}"
    return text if len(text) <= PREHEADER_CHARS else text[: PREHEADER_CHARS - 1].rstrip() + "…"
