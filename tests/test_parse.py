"""The parser: every layout a real dump comes in, and every way one can be bad."""

from __future__ import annotations

import codecs
import datetime as dt

import pytest

from digest.errors import DumpError
from digest.listings.formats.links import find_links
from digest.listings.formats.text import parse_dump
from digest.models import Link

from conftest import EXAMPLE_DUMPS

TODAY = dt.date(2026, 11, 22)
ABSTRACT_A = "We study the first thing in depth. It works well on every benchmark we tried."
ABSTRACT_B = "A second abstract, with several words; see https://github.com/acme/thing for code."
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"


def titles(data: bytes | str, today: dt.date = TODAY) -> list[str]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return [paper.title for paper in parse_dump(raw, today=today).papers]


def test_the_example_dumps_parse_with_their_dates_and_counts() -> None:
    expected = {"000": (dt.date(2026, 3, 12), 89), "001": (dt.date(2026, 3, 14), 44), "002": (dt.date(2026, 3, 11), 59)}
    for path in EXAMPLE_DUMPS:
        dump = parse_dump(path.read_bytes(), today=TODAY)
        assert (dump.listed_on, len(dump.papers)) == expected[path.name[:3]]
        assert [paper.rank for paper in dump.papers] == list(range(1, len(dump.papers) + 1))
        assert all(len(paper.title) < 300 and len(paper.abstract) > 100 for paper in dump.papers)


def test_blank_line_layout_and_no_blank_line_layout_give_the_same_papers() -> None:
    spaced = HEADER + "Mar 12\n\nFirst Title\n\n" + ABSTRACT_A + "\n\nSecond Title\n\n" + ABSTRACT_B + "\n"
    packed = "new\nSubscribe\nMar 12\nFirst Title\n" + ABSTRACT_A + "\nSecond Title\n" + ABSTRACT_B

    def content(text: str) -> list[tuple[object, ...]]:
        return [(p.title, p.abstract, p.rank, p.links) for p in parse_dump(text.encode(), today=TODAY).papers]

    assert content(spaced) == content(packed)
    assert titles(packed) == ["First Title", "Second Title"]


def test_header_glued_to_the_first_title_is_removed() -> None:
    text = "newGet trending papers in your email inbox!SubscribeSome Title\n" + ABSTRACT_A
    assert titles(text) == ["Some Title"]
    assert titles("byAK and the research communityAnother Title\n" + ABSTRACT_A) == ["Another Title"]


def test_a_title_that_merely_starts_like_the_header_is_kept() -> None:
    assert titles("Subscribers of Tomorrow\n" + ABSTRACT_A) == ["Subscribers of Tomorrow"]
    assert titles("New Frontiers in Attention\n" + ABSTRACT_A) == ["New Frontiers in Attention"]
    assert titles("May 5 Reasons to Pretrain\n" + ABSTRACT_A) != []


def test_date_line_is_optional_and_its_year_is_inferred() -> None:
    no_date = parse_dump(("Title\n" + ABSTRACT_A).encode(), today=TODAY)
    assert no_date.listed_on is None
    # The most recent such date not after today: Dec 30 seen on Jan 2 is last year's.
    late = parse_dump(("Dec 30\nTitle\n" + ABSTRACT_A).encode(), today=dt.date(2027, 1, 2))
    assert late.listed_on == dt.date(2026, 12, 30)
    same_day = parse_dump(("Nov 22\nTitle\n" + ABSTRACT_A).encode(), today=TODAY)
    assert same_day.listed_on == TODAY
    leap = parse_dump(("Feb 29\nTitle\n" + ABSTRACT_A).encode(), today=TODAY)
    assert leap.listed_on == dt.date(2024, 2, 29)
    explicit = parse_dump(("March 3, 2021\nTitle\n" + ABSTRACT_A).encode(), today=TODAY)
    assert explicit.listed_on == dt.date(2021, 3, 3)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_line_endings_and_encodings(newline: str, encoding: str) -> None:
    text = newline.join(["Subscribe", "Mar 12", "Café Résumé: “Quoted” Models", ABSTRACT_A, "Second", ABSTRACT_B])
    dump = parse_dump(text.encode(encoding), today=TODAY)
    assert [paper.title for paper in dump.papers] == ["Café Résumé: “Quoted” Models", "Second"]
    assert dump.listed_on == dt.date(2026, 3, 12)


def test_the_same_content_in_another_encoding_or_line_ending_has_the_same_hash() -> None:
    text = "Mar 12\nCafé Title\n" + ABSTRACT_A + "\n"
    hashes = {
        parse_dump(data, today=TODAY).sha256
        for data in (
            text.encode("utf-8"),
            codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"),
            text.replace("\n", "\r").encode("cp1252"),
            text.encode("utf-16"),
        )
    }
    assert len(hashes) == 1


def test_abstract_whitespace_is_normalised_and_text_kept() -> None:
    dump = parse_dump(b"Title\n  An   abstract\twith  odd spacing, kept as is.  \n", today=TODAY)
    assert dump.papers[0].abstract == "An abstract with odd spacing, kept as is."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n\n \r\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (HEADER.encode() + b"Mar 12\n", "no papers found"),
        (b"Title One\n" + ABSTRACT_A.encode() + b"\nTitle Two\n", "has no abstract after it"),
        (b"Title One\nshort\n", "entries do not pair up"),
        (b"Title\n" + ABSTRACT_A.encode() + b"\n" + (ABSTRACT_B * 5).encode() + b"\nx y z w\n", "found a paragraph"),
        (b"Feb 30, 2024\nTitle\n" + ABSTRACT_A.encode(), "is not a valid date"),
        (b"!!! ???\n" + ABSTRACT_A.encode(), "has no letters or digits"),
    ],
)
def test_bad_dumps_are_rejected_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(DumpError, match=message):
        parse_dump(data, today=TODAY)


def test_a_parse_problem_names_its_line() -> None:
    data = (
        "Mar 12\n\nTitle One\n\n" + ABSTRACT_A + "\n\nTitle Two\n\n" + ABSTRACT_B * 4 + "\n\nTitle Three\n"
    ).encode()
    with pytest.raises(DumpError) as caught:
        parse_dump(data, today=TODAY)
    assert caught.value.line == 11
    assert caught.value.one_line().startswith("line 11: ")


def test_links_are_classified_and_trailing_punctuation_stripped() -> None:
    text = (
        "Code at https://github.com/acme/model. Weights: https://huggingface.co/acme/m, "
        "demo (https://acme.github.io/demo/) and https://gitlab.com/x/y; see www.example.org/page!"
        " Repeated https://github.com/acme/model and https://en.wikipedia.org/wiki/Foo_(bar)."
    )
    assert find_links(text) == (
        Link("https://github.com/acme/model", "code"),
        Link("https://huggingface.co/acme/m", "code"),
        Link("https://acme.github.io/demo/", "project"),
        Link("https://gitlab.com/x/y", "code"),
        Link("https://www.example.org/page", "project"),
        Link("https://en.wikipedia.org/wiki/Foo_(bar)", "project"),
    )


def test_papers_carry_their_links() -> None:
    dump = parse_dump(("Title\n" + ABSTRACT_B).encode(), today=TODAY)
    assert dump.papers[0].code_links == (Link("https://github.com/acme/thing", "code"),)


def test_a_first_title_mentioning_once_a_day_is_a_title() -> None:
    assert titles("Learning Once a Day\n" + ABSTRACT_A) == ["Learning Once a Day"]
    assert titles("Get trending papers in your email inbox once a day!\nReal Title\n" + ABSTRACT_A) == ["Real Title"]


def _wrapped_listing(*, together: bool) -> tuple[bytes, list[tuple[str, str]]]:
    import textwrap

    papers = [(p.title, p.abstract) for p in parse_dump(EXAMPLE_DUMPS[0].read_bytes(), today=TODAY).papers[:4]]
    blocks: list[str] = ["Subscribe", "Mar 12"]
    for title, abstract in papers:
        body = "\n".join(textwrap.wrap(abstract, 72, break_on_hyphens=False, break_long_words=False))
        blocks += [f"{title}\n{body}"] if together else [title, body]
    return ("\n\n".join(blocks) + "\n").encode(), papers


@pytest.mark.parametrize("together", [False, True], ids=["title-block-then-abstract-block", "one-block-a-paper"])
def test_hard_wrapped_abstracts_are_joined(together: bool) -> None:
    data, papers = _wrapped_listing(together=together)
    dump = parse_dump(data, today=TODAY)
    assert [(paper.title, paper.abstract) for paper in dump.papers] == papers
    assert dump.listed_on == dt.date(2026, 3, 12)


def test_blocks_that_are_truly_ambiguous_are_rejected_with_the_reason() -> None:
    text = "Title One\n\nfirst line of an abstract\nsecond line of it\nthird line\n\nTwo Titles\nIn A Block\n"
    with pytest.raises(DumpError) as caught:
        parse_dump(text.encode(), today=TODAY)
    assert "neither alternate between a one-line title and its abstract nor hold one paper each" in str(caught.value)
