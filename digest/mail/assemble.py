"""One reader's mail, assembled from the digest's ready blocks in that reader's order. Pure.

- **For you** (or **Top papers** for a reader without a profile): the first
  ``for_you`` papers of the reader's order, as cards with their TL;DR, the
  reason they are there, and "More like this" / "Less like this" links.
- **Also new**: every other paper as one compact line, grouped by the digest's
  topics (the same groups for every reader), after a short table of contents.

Every paper the reader's filter lets through is in the mail once. The HTML is
kept under :data:`~digest.site.render.EMAIL_HTML_BUDGET` (Gmail clips longer mail):
when the lines would pass it, the last ones give way to a link to the archive.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from digest.mail.blocks import Blocks, DigestEmail
from digest.site.render import EMAIL_HTML_BUDGET

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
    order = [index for index in reader.order if allowed is None or index in allowed]
    top = _cards_within_budget(email.html, order[:for_you])
    rest = set(order[len(top) :])
    groups = [(number, [i for i in topic.members if i in rest]) for number, topic in enumerate(email.topics)]
    groups = [(number, members) for number, members in groups if members]
    kept = _within_budget(email.html, reader, top, groups)
    shown = len(top) + sum(len(members) for _, members in kept)
    left_out = len(order) - shown + beyond
    html_body = _body(email, email.html, reader, top, kept, left_out, len(order) + beyond, escape=True)
    text_body = _body(email, email.text, reader, top, kept, left_out, len(order) + beyond, escape=False)
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
    """The body: blocks joined, per-reader values filled into the (small) blocks that hold their tokens."""
    tokens = email.tokens

    def value(text: str) -> bytes:
        return (html.escape(text, quote=True) if escape else text).encode("utf-8")

    unsubscribe_token, unsubscribe = tokens.unsubscribe.encode(), value(reader.unsubscribe_url)
    preferences_token, preferences = tokens.preferences.encode(), value(reader.preferences_url)
    vote_token, vote = tokens.vote.encode(), value(reader.vote_url)
    head = blocks.head.replace(unsubscribe_token, unsubscribe).replace(preferences_token, preferences)
    head = head.replace(tokens.counts.encode(), value(counts_text(papers, len(email.titles))))
    parts = [head.replace(tokens.preheader.encode(), value(_preheader(email, top, papers)))]  # titles last
    if top:
        parts.append(blocks.for_you if reader.personal else blocks.top)
    reason_token = tokens.reason.encode()
    for index in top:
        before, after = blocks.cards[index]
        parts.append(before.replace(vote_token, vote))
        reason = reader.reasons.get(index)
        if reason:
            parts.append(blocks.reason.replace(reason_token, value(reason)))
        parts.append(after.replace(vote_token, vote))
    if groups:
        parts.append(blocks.also_new)
        count_token = tokens.count.encode()
        entries = [blocks.contents[number].replace(count_token, str(len(lines)).encode()) for number, lines in groups]
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
    parts.append(blocks.tail.replace(unsubscribe_token, unsubscribe).replace(preferences_token, preferences))
    return b"".join(parts)


def counts_text(papers: int, total: int) -> str:
    """ "3 new papers": what the reader's mail holds, as its subject counts them (and what their filter left out)."""
    text = f"{papers} new {'paper' if papers == 1 else 'papers'}"
    return text if papers == total else f"{text} (your filter leaves out {total - papers})"


def _preheader(email: DigestEmail, top: list[int], papers: int) -> str:
    titles = "; ".join(email.titles[index] for index in top[:PREHEADER_TITLES])
    text = f"{papers} new: {titles}"
    return text if len(text) <= PREHEADER_CHARS else text[: PREHEADER_CHARS - 1].rstrip() + "…"
