"""Dump text -> :class:`~digest.models.Dump`. Pure: no I/O, no clock.

A dump is the text of a trending-papers listing page. What it may look like:

* header boilerplate first ("new", "Get trending papers in your email inbox!",
  "Subscribe", "byAK and the research community"), possibly glued to the first
  title with no line break ("SubscribeSome Title");
* an optional date line ("Mar 12", "March 12", "Mar 12, 2024");
* then, for each paper, a title line followed by an abstract line, with or
  without blank lines between them; or, with blank lines between blocks, an
  abstract hard-wrapped over several lines (see :func:`_papers`);
* UTF-8 (with or without a BOM), UTF-16 with a BOM, or Latin-1/cp1252 bytes;
  LF, CRLF or CR line endings.

A dump that cannot be parsed with confidence raises :class:`DumpError` naming
the line: an empty or binary file, no entries, a "title" that is really a
paragraph, or entries that do not pair up.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from digest.errors import DumpError
from digest.listings.formats.links import find_links
from digest.listings.identity import join_wrapped, normalise_whitespace, title_key
from digest.models import Dump, Paper

#: A title longer than this is a paragraph, not a title.
MAX_TITLE_CHARS = 300
#: A title this long with two or more sentence breaks is a paragraph too.
LONG_TITLE_CHARS = 150
#: An abstract needs at least this many words.
MIN_ABSTRACT_WORDS = 3


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_DATE = re.compile(r"(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?!\d)(?:,?\s+(?P<year>\d{4})(?!\d))?")

# Header lines, matched against a whole line (case-insensitive) ...
_BOILERPLATE_LINE = re.compile(
    r"(?:new|subscribe|by\s*ak and the research community"
    r"|get trending papers in your e-?mail inbox[^!]*!?|.{0,40}once a day!)",
    re.IGNORECASE,
)
# ... and the ones that may be glued to what follows them (case-sensitive, so
# that a title such as "Subscribers..." is left alone).
_BOILERPLATE_PREFIX = re.compile(
    r"(?:Subscribe|by\s*AK and the research community"
    r"|Get trending papers in your e-?mail inbox[^!]*!|new(?=[A-Z]))"
)

_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _Line:
    number: int  # 1-based line number in the file
    text: str
    block: int = 0  # which run of lines between blank lines it belongs to


def decode(data: bytes) -> str:
    """Bytes -> text with LF line endings and no BOM.

    UTF-16 needs its BOM; otherwise UTF-8 is tried first and cp1252 (with
    Latin-1 for the five bytes cp1252 leaves undefined) is the fallback.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DumpError(f"the file starts with a UTF-16 mark but is not UTF-16 ({exc.reason})") from None
    else:
        if b"\x00" in data:
            raise DumpError("the file is binary (it contains NUL bytes), not the text of a listing")
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "".join(_decode_cp1252(data))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_CONTROL.findall(text))
    if controls and controls > max(3, len(text) // 100):
        raise DumpError(f"the file is binary ({controls} control characters), not the text of a listing")
    return text


def _decode_cp1252(data: bytes) -> Iterator[str]:
    for byte in data:
        single = bytes((byte,))
        try:
            yield single.decode("cp1252")
        except UnicodeDecodeError:
            yield single.decode("latin-1")


def content_hash(text: str) -> str:
    """The identity of a dump's content: SHA-256 of its decoded, LF-normalised text."""
    return hashlib.sha256(text.rstrip("\n").encode("utf-8")).hexdigest()


def parse_dump(data: bytes, *, today: dt.date) -> Dump:
    """Parse a dump's bytes. ``today`` resolves a date line that has no year."""
    return parse_text(decode(data), today=today)


def parse_text(text: str, *, today: dt.date) -> Dump:
    """Parse a dump's decoded text (see :func:`decode`)."""
    if not text.strip():
        raise DumpError("the file is empty")
    lines = _content_lines(text)
    listed_on, body = _split_header(lines, today=today)
    if not body:
        raise DumpError("no papers found after the header", line=lines[-1].number)
    papers = _papers(body)
    return Dump(sha256=content_hash(text), listed_on=listed_on, papers=papers)


def peek_date(data: bytes, *, today: dt.date) -> dt.date | None:
    """The dump's own date, read from its header only; None if it has none or is unreadable."""
    try:
        text = decode(data)
        listed_on, _ = _split_header(_content_lines(text[:4096]), today=today)
    except DumpError:
        return None
    return listed_on


def _content_lines(text: str) -> list[_Line]:
    lines = []
    block = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        cleaned = normalise_whitespace(_CONTROL.sub(" ", raw))
        if cleaned:
            lines.append(_Line(number, cleaned, block))
        elif lines and lines[-1].block == block:
            block += 1
    return lines


def _split_header(lines: list[_Line], *, today: dt.date) -> tuple[dt.date | None, list[_Line]]:
    """Strip header boilerplate and the date line; return the date and the rest."""
    listed_on: dt.date | None = None
    for index, line in enumerate(lines):
        text = line.text
        while text:
            if _BOILERPLATE_LINE.fullmatch(text):
                text = ""
                break
            prefix = _BOILERPLATE_PREFIX.match(text)
            if prefix is None and listed_on is None:
                prefix = _DATE.match(text)
                if prefix is not None:
                    date = _resolve_date(prefix, today=today, line=line.number)
                    if date is None:  # "May 5 Reasons..." is a title, not a date
                        prefix = None
                    else:
                        listed_on = date
            if prefix is None:
                break
            rest = text[prefix.end() :].lstrip()
            if rest and rest[0].islower():
                break  # not a glued header: the line really starts this way
            text = rest
        if text:
            return listed_on, [_Line(line.number, text, line.block), *lines[index + 1 :]]
    return listed_on, []


def _resolve_date(match: re.Match[str], *, today: dt.date, line: int) -> dt.date | None:
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        return None
    day = int(match["day"])
    if match["year"]:
        try:
            return dt.date(int(match["year"]), month, day)
        except ValueError:
            raise DumpError(f"'{match.group(0)}' is not a valid date", line=line) from None
    # No year: the most recent such date not after today (Feb 29 looks back to a leap year).
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise DumpError(f"'{match.group(0)}' is not a valid date", line=line)


def _papers(body: list[_Line]) -> tuple[Paper, ...]:
    """The papers of the body, read from its blocks when they show hard-wrapped abstracts.

    Blocks are runs of lines between blank lines. Two layouts mark a hard-wrapped
    listing unambiguously, and their lines are joined:

    * blocks alternate between a one-line title and an abstract of one or more lines;
    * every block is one paper: a title line, then its abstract's lines.

    (When no block holds more than two lines, the two readings agree with reading
    the lines in pairs.) Any other arrangement is read line by line, in pairs; what
    does not pair up then is rejected.
    """
    blocks: list[list[_Line]] = []
    for line in body:
        if blocks and blocks[-1][-1].block == line.block:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    titles, abstracts = blocks[0::2], blocks[1::2]
    if (
        len(titles) == len(abstracts)
        and all(len(block) == 1 for block in titles)
        and any(len(block) > 1 for block in abstracts)
    ):
        return tuple(_joined([(title[0], abstract) for title, abstract in zip(titles, abstracts, strict=True)]))
    wrapped = len(blocks) > 1 and max(len(block) for block in blocks) > 2
    if wrapped and all(len(block) >= 2 for block in blocks):
        return tuple(_joined([(block[0], block[1:]) for block in blocks]))
    try:
        return tuple(_pair(body))
    except DumpError as exc:
        if not wrapped:
            raise
        raise DumpError(
            f"{exc.reason}; the blank lines make blocks of several lines, but the blocks neither alternate"
            " between a one-line title and its abstract nor hold one paper each, so the abstracts cannot be"
            " told from the titles",
            line=exc.line,
        ) from None


def _joined(entries: list[tuple[_Line, list[_Line]]]) -> Iterator[Paper]:
    for rank, (title_line, abstract_lines) in enumerate(entries, start=1):
        _check_title(title_line)
        abstract = join_wrapped([line.text for line in abstract_lines])
        if len(abstract.split()) < MIN_ABSTRACT_WORDS:
            raise DumpError(
                f"expected the abstract of {_quote(title_line.text)} but found {_quote(abstract)}",
                line=abstract_lines[0].number,
            )
        yield Paper(
            title=title_line.text, abstract=abstract, rank=rank, line=title_line.number, links=find_links(abstract)
        )


def _pair(body: list[_Line]) -> Iterator[Paper]:
    for rank, start in enumerate(range(0, len(body), 2), start=1):
        title_line = body[start]
        _check_title(title_line)
        if start + 1 >= len(body):
            raise DumpError(
                f"the title {_quote(title_line.text)} has no abstract after it; entries do not pair up",
                line=title_line.number,
            )
        abstract_line = body[start + 1]
        if len(abstract_line.text.split()) < MIN_ABSTRACT_WORDS:
            raise DumpError(
                f"expected the abstract of {_quote(title_line.text)} but found {_quote(abstract_line.text)}; "
                "entries do not pair up",
                line=abstract_line.number,
            )
        yield Paper(
            title=title_line.text,
            abstract=abstract_line.text,
            rank=rank,
            line=title_line.number,
            links=find_links(abstract_line.text),
        )


def _check_title(line: _Line) -> None:
    text = line.text
    breaks = len(_SENTENCE_BREAK.findall(text))
    if len(text) > MAX_TITLE_CHARS or (len(text) > LONG_TITLE_CHARS and breaks >= 2):
        raise DumpError(
            f"expected a paper title but found a paragraph ({len(text)} characters); "
            "titles and abstracts do not pair up",
            line=line.number,
        )
    if not title_key(text):
        raise DumpError(f"the title {_quote(text)} has no letters or digits", line=line.number)


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
