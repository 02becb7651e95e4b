"""A digest's blocks cut at their per-reader tokens, once per digest, and filled for each reader. Pure.

Every reader's copy of a block that holds a token (the head and the tail with their links, a card with its
vote links and reason, a contents entry with its count) is a join of the block's pieces and the reader's
values: the block is searched once, never per reader. Values many readers share (a reason, a count line)
are kept escaped.
"""

from __future__ import annotations

import functools
import html
import re

from digest.mail.blocks import Tokens


def joined(pieces: tuple[bytes, ...], slots: tuple[int, ...], values: list[bytes]) -> bytes:
    """Pieces cut by :func:`cut_at` joined again, each slot's value between them."""
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out += (values[slot], piece)
    return b"".join(out)


@functools.lru_cache(maxsize=65_536)
def escaped(text: str) -> bytes:
    """A value as the HTML part holds it (a reason, a count line: the same for many readers, so kept)."""
    return html.escape(text, quote=True).encode("utf-8")


def escaped_link(text: str) -> bytes:
    """A reader's own link as the HTML part holds it (not kept: no other reader has it)."""
    return html.escape(text, quote=True).encode("utf-8")


def plain(text: str) -> bytes:
    """A value as the text part holds it."""
    return text.encode("utf-8")


@functools.lru_cache(maxsize=8)
def card_tokens(tokens: Tokens) -> tuple[bytes, bytes]:
    """The tokens a card is cut at: its vote links' and its reason's."""
    return tokens.vote.encode(), tokens.reason.encode()


@functools.lru_cache(maxsize=8192)
def cut_once(block: bytes, token: bytes) -> tuple[bytes, ...]:
    """A block cut at a token, once per digest (a card at its vote links, the reason block at its reason): a
    reader's copy is ``value.join`` of the pieces."""
    return cut(block, token)


@functools.lru_cache(maxsize=8)
def head_tokens(tokens: Tokens) -> tuple[bytes, ...]:
    """The tokens of the head (and, the first two, of the tail), in the order a body gives their values."""
    return tuple(token.encode() for token in (tokens.unsubscribe, tokens.preferences, tokens.counts, tokens.preheader))


def cut(block: bytes, token: bytes) -> tuple[bytes, ...]:
    """A block cut at a token."""
    return tuple(block.split(token))


@functools.lru_cache(maxsize=64)
def cut_at(block: bytes, tokens: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """A block cut at several tokens: its pieces, and which token (by index) comes after each but the last."""
    pattern = re.compile(b"|".join(re.escape(token) for token in tokens))
    pieces, slots, last = [], [], 0
    for match in pattern.finditer(block):
        pieces.append(block[last : match.start()])
        slots.append(tokens.index(match.group(0)))
        last = match.end()
    pieces.append(block[last:])
    return tuple(pieces), tuple(slots)


def filled(block: bytes, tokens: tuple[bytes, ...], values: tuple[bytes, ...]) -> list[bytes]:
    """The block's pieces with each token's value between them (a list to join)."""
    pieces, slots = cut_at(block, tokens)
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out += (values[slot], piece)
    return out


@functools.lru_cache(maxsize=4096)
def contents_entry(block: bytes, token: str, count: int) -> bytes:
    """A topic's contents entry with the count of its papers in this mail (few counts recur: kept)."""
    return block.replace(token.encode(), str(count).encode())
