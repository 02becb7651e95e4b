"""Listing formats: each module turns one kind of input into a Dump of papers. Pure.

:func:`parse_listing` tells the format by the content, never by the file's name:
JSON (a daily-papers listing), XML (an RSS or Atom feed), or else the text of a
listing page (a dump). Whatever the format, a listing's papers are held within
the bounds of :mod:`~digest.listings.formats.bounds`.
"""

from __future__ import annotations

import datetime as dt

from digest.listings.formats.bounds import bounded
from digest.listings.formats.daily_papers import parse_daily_papers
from digest.listings.formats.feeds import parse_feed
from digest.listings.formats.text import content_hash, decode, parse_text
from digest.models import Dump

__all__ = ["detect", "parse_decoded", "parse_listing"]


def detect(text: str) -> str:
    """``"json"``, ``"feed"`` or ``"text"``, from how the content begins."""
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    if head == "<":
        return "feed"
    return "text"


def parse_listing(data: bytes, *, today: dt.date) -> Dump:
    """Parse a listing of any format; :class:`~digest.errors.DumpError` when it cannot be read with confidence."""
    return parse_decoded(decode(data), data, today=today)


def parse_decoded(text: str, data: bytes, *, today: dt.date) -> Dump:
    """:func:`parse_listing` for a listing already decoded (``text``) from ``data``."""
    sha256 = content_hash(text)
    kind = detect(text)
    if kind == "json":
        return bounded(parse_daily_papers(text, sha256=sha256))
    if kind == "feed":
        return bounded(parse_feed(data, sha256=sha256))  # the bytes: XML names its own encoding
    return bounded(parse_text(text, today=today))
