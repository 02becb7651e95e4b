"""Property-based tests for the parser and the title normaliser."""

from __future__ import annotations

import codecs
import datetime as dt
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from digest.listings.formats.text import parse_dump
from digest.listings.identity import title_key

TODAY = dt.date(2026, 11, 22)

# Letters, digits, punctuation and symbols of any script; no whitespace, no
# control or format characters, no surrogates or unassigned code points.
WORD_CHARS = st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="\ufeff")
WORD = st.text(WORD_CHARS, min_size=1, max_size=12)
GAP = st.sampled_from([" ", "  ", "\t", "\u00a0"])
HEADER_WORDS = (
    "new",
    "subscribe",
    "by",
    "get trending",
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)


@st.composite
def phrase(draw: st.DrawFn, min_words: int, max_words: int) -> str:
    words = draw(st.lists(WORD, min_size=min_words, max_size=max_words))
    text = words[0]
    for word in words[1:]:
        text += draw(GAP) + word
    return text


@st.composite
def title(draw: st.DrawFn) -> str:
    text = draw(phrase(1, 12))
    assume(title_key(text) and len(" ".join(text.split())) <= 150)
    return text


ABSTRACT = phrase(3, 40)


@st.composite
def dump(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """A dump in a random layout, and the (title, abstract) pairs it holds."""
    pairs = draw(st.lists(st.tuples(title(), ABSTRACT), min_size=1, max_size=8))
    first = " ".join(pairs[0][0].split()).casefold()
    assume(not first.startswith(HEADER_WORDS) and "once a day" not in first)

    header = draw(st.sampled_from(["none", "lines", "glued"]))
    if header == "glued":
        assume(not pairs[0][0][0].islower())
    dated = draw(st.booleans())
    # Blank lines: between every line, never, only between papers, or only between a title and its abstract.
    blank = draw(st.sampled_from(["always", "never", "papers", "inside"]))

    blocks: list[str] = []
    if header == "lines":
        blocks += ["new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community"]
    if dated:
        blocks.append("Mar 12")
    for index, (paper_title, abstract) in enumerate(pairs):
        blocks += [("Subscribe" + paper_title) if header == "glued" and index == 0 else paper_title, abstract]

    header_lines = len(blocks) - 2 * len(pairs)
    text = blocks[0]
    for index, block in enumerate(blocks[1:], start=1):
        is_title = index >= header_lines and (index - header_lines) % 2 == 0
        gap = {"always": True, "never": False, "papers": is_title or index <= header_lines}.get(blank, not is_title)
        text += ("\n\n" if gap else "\n") + block
    text += draw(st.sampled_from(["", "\n", "\n\n"]))
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))

    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    if encoding == "cp1252":
        try:
            data = text.encode("cp1252")
        except UnicodeEncodeError:
            assume(False)
        if not text.isascii():  # bytes that happen to be valid UTF-8 are read as UTF-8
            try:
                data.decode("utf-8")
                assume(False)
            except UnicodeDecodeError:
                pass
    else:
        data = text.encode(encoding)
    expected = [(" ".join(t.split()), " ".join(a.split())) for t, a in pairs]
    return data, expected


@given(dump())
def test_any_layout_parses_back_to_the_same_pairs(case: tuple[bytes, list[tuple[str, str]]]) -> None:
    data, expected = case
    parsed = parse_dump(data, today=TODAY)
    assert [(paper.title, paper.abstract) for paper in parsed.papers] == expected
    assert [paper.rank for paper in parsed.papers] == list(range(1, len(expected) + 1))


@st.composite
def wrapped_dump(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """A listing whose abstracts are hard-wrapped over several lines, with blank lines between blocks."""
    pairs = draw(st.lists(st.tuples(title(), phrase(6, 60)), min_size=1, max_size=6))
    assume(not any(" ".join(t.split()).casefold().startswith(HEADER_WORDS) for t, _ in pairs[:1]))
    width = draw(st.integers(min_value=20, max_value=80))
    together = draw(st.booleans())  # title and abstract in one block, or in blocks of their own
    blocks, expected = [], []
    for paper_title, abstract in pairs:
        lines, line = [], ""
        for word in abstract.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        assume(len(lines) >= 2 or not together)
        body = "\n".join(lines)
        blocks += [f"{paper_title}\n{body}"] if together else [paper_title, body]
        expected.append((" ".join(paper_title.split()), " ".join(_unwrapped(lines).split())))
    # One block with no blank line at all is a listing read line by line: not a wrapped layout.
    assume(not (together and len(pairs) == 1))
    text = "\n\n".join(blocks) + "\n"
    return text.encode("utf-8"), expected


def _unwrapped(lines: list[str]) -> str:
    """The README's rule: wrapped lines join with a space, but "large-" then "scale" join as "large-scale"."""
    text = lines[0]
    for line in lines[1:]:
        hyphenated = len(text) > 1 and text[-1] == "-" and text[-2].isalpha() and line[:1].isalpha()
        text += line if hyphenated else " " + line
    return text


@given(wrapped_dump())
def test_hard_wrapped_abstracts_are_joined(case: tuple[bytes, list[tuple[str, str]]]) -> None:
    data, expected = case
    parsed = parse_dump(data, today=TODAY)
    assert [(paper.title, paper.abstract) for paper in parsed.papers] == expected


@given(dump())
def test_a_dumps_hash_ignores_its_encoding_and_line_endings(case: tuple[bytes, list[tuple[str, str]]]) -> None:
    data, _ = case
    text = codecs.decode(data, "utf-16") if data.startswith(codecs.BOM_UTF16_LE) else None
    if text is None:
        return
    as_utf8 = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    assert parse_dump(as_utf8, today=TODAY).sha256 == parse_dump(data, today=TODAY).sha256


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
LATIN = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x17F, exclude_categories=("Cs", "Cc")), max_size=40)


@given(TEXT)
def test_title_key_is_idempotent(text: str) -> None:
    assert title_key(title_key(text)) == title_key(text)


@given(LATIN)
def test_title_key_ignores_case(text: str) -> None:
    assert title_key(text.upper()) == title_key(text.lower()) == title_key(text)


@given(TEXT, TEXT, st.sampled_from([" ", " - ", ": ", "  ", "\t", ", ", "—", "'", "?!", "\u00a0"]))
def test_title_key_ignores_punctuation_and_whitespace(left: str, right: str, separator: str) -> None:
    assert title_key(left + separator + right) == title_key(left + right)


@given(TEXT)
def test_title_key_ignores_tex_markup(text: str) -> None:
    assert title_key("$\\" + text + "$") == title_key("{" + text + "}") == title_key(text)


@given(TEXT)
def test_title_key_is_the_same_for_every_unicode_normal_form(text: str) -> None:
    forms = {title_key(unicodedata.normalize(form, text)) for form in ("NFC", "NFD", "NFKC", "NFKD")}
    assert len(forms) == 1
