"""Hostile listing text in the mail: block markers and tokens in titles, abstracts, TL;DRs and authors.

A paper's text stays inside its own card, one bad paper never stops a send, and
a listing's content is never reported as a template error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import html
import json
from email.message import Message
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.config import EmailConfig, SiteConfig
from digest.errors import ExitStatus
from digest.mail.assemble import Reader, assemble
from digest.mail.blocks import render_email
from digest.models import Digest, PaperDetails, StoredPaper, Topic
from digest.site.render import Renderer

from conftest import NOW, Project

NAMES = ("head", "for-you", "top", "card", "reason", "also-new", "contents", "contents-end", "topic", "line", "more")
MARKERS = tuple(f"<!--{slash}digest:{name}-->" for name in (*NAMES, "tail") for slash in ("", "/"))
SITE = SiteConfig(dir=Path("/nonexistent"), url="https://digest.example.org/", title="Trending papers")
EMAIL = EmailConfig(sender="Digest <d@example.org>", subject="{count} new papers", for_you=10)


def listing_item(number: int, title: str, summary: str, author: str) -> dict[str, object]:
    return {
        "id": f"2403.{number:05d}",
        "title": title,
        "summary": summary,
        "authors": [{"name": author}, {"name": "Grace Hopper"}],
        "upvotes": number,
        "publishedAt": "2026-11-21T06:00:00Z",
    }


def hostile_listing(day: int) -> bytes:
    """Every marker in a title, an abstract, its TL;DR sentence and an author; the last title ends a reason."""
    items = []
    for number, marker in enumerate(MARKERS, start=1):
        items.append(
            listing_item(
                day * 100 + number,
                f"Paper {day}-{number} on graphs {marker} and more",
                f"Background sentence {day}-{number} about graphs. We propose {marker} a method for graphs that works."
                f" Results {marker} follow in the end.",
                f"Mallory {marker} Evil",
            )
        )
    items.append(
        listing_item(
            day * 100 + 99,
            f"Last paper {day} <!--digest:reason--> PHISHING: log in at https://evil.example/ now",
            f"We propose a phishing method {day} for graphs <!--/digest:reason--> that ends the reason early.",
            "Eve",
        )
    )
    return json.dumps(items).encode()


def parts(message: Message) -> tuple[str, str]:
    text_part, html_part = message.get_payload()  # type: ignore[misc]
    return (
        text_part.get_payload(decode=True).decode(),  # type: ignore[union-attr]
        html_part.get_payload(decode=True).decode(),  # type: ignore[union-attr]
    )


def test_markers_in_listing_text_never_stop_a_send_nor_leave_their_card(project: Project) -> None:
    project.environ["DIGEST_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
    assert project.run("subscribers", "add", "plain@example.org").code == ExitStatus.OK
    assert project.run("subscribers", "add", "graphs@example.org", "--interests", "graphs").code == ExitStatus.OK
    for day in (1, 2):  # and the next day too: nothing stays broken
        project.drop("", f"listing-{day}.json", data=hostile_listing(day))
        result = project.run("run", now=NOW + dt.timedelta(days=day))
        assert result.code == ExitStatus.OK, result.stderr
        assert "template" not in result.stderr
    mails = sorted((project.root / "outbox" / "new").glob("*.eml"))
    assert len(mails) == 4
    for path in mails:
        text, body = parts(email.message_from_bytes(path.read_bytes()))
        personal = "For you" in body
        cards = text.split("More like this: ")[:-1]
        assert len(cards) == 10  # For you: ten cards, each holding one paper
        for card in cards:
            # A card names one paper, and only a profile's reason is in it: never another paper's text.
            assert card.count("Less like this: ") <= 1
            assert "PHISHING" not in card or "Last paper" in card
            assert card.count("Why:") == (1 if personal else 0)
        assert text.count("PHISHING") == 1  # the last paper's title, once: in its card or its line
        assert text.count("Why:") == (10 if personal else 0)
        # Each marker is written as text in the plain part (never as a marker), escaped in the HTML.
        assert "<!--digest:" not in text.replace("<!-\u200c-digest:", "")
        assert "&lt;!--digest:tail--&gt;" in body
        assert "%%" not in text and "%%" not in body
        assert text.count("Paper ") >= 24 and "Unsubscribe with one click" in text


def stored(number: int, title: str, abstract: str, author: str) -> StoredPaper:
    return StoredPaper(
        id=number,
        title=title,
        abstract=abstract,
        links=(),
        first_dump_id=1,
        first_rank=number,
        first_seen_on=dt.date(2026, 3, 12),
        first_seen_at=NOW,
        details=PaperDetails(arxiv_id=f"2403.{number:05d}", authors=(author,)),
    )


HOSTILE_TEXT = st.lists(
    st.one_of(
        st.sampled_from(MARKERS),
        st.sampled_from(["%%", "%%reason-", "%%vote-", "%%more-", "-->", "<!--", "\n", "\x00", "\r", "We propose "]),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="§«»/"), max_size=8),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT), min_size=1, max_size=5))
def test_every_paper_stays_in_its_own_card_whatever_its_text(texts: list[tuple[str, str, str]]) -> None:
    papers = [
        stored(number, f"P{number}§ {title}", f"We propose P{number}§ {abstract}. {abstract}", author)
        for number, (title, abstract, author) in enumerate(texts, start=1)
    ]
    digest = Digest("2026-03-12", dt.date(2026, 3, 12), tuple(papers), 0, (dt.date(2026, 3, 12),), 1, 1, NOW)
    topics = [Topic("graphs", tuple(range(len(papers))))]
    rendered = render_email(digest, Renderer(SITE, EMAIL), topics)
    order = tuple(reversed(range(len(papers))))
    reasons = {index: f"«why {index}»" for index in order}
    reader = Reader(order, reasons, True, "https://d.example.org/vote/T", "https://d.example.org/unsubscribe/T")
    mail = assemble(rendered, reader, for_you=10)
    assert mail.shown == len(papers) and mail.left_out == 0
    bodies = ((mail.text.decode(), str, "FOR YOU"), (mail.html.decode(), html.unescape, "For you"))
    for body, unescape, heading in bodies:
        start = body.index(heading)
        cards = body[start:].split("/more")[:-1]
        assert len(cards) == len(papers)
        for card, index in zip(cards, order, strict=True):
            seen = unescape(card)
            assert f"P{index + 1}§" in seen
            assert all(f"P{other + 1}§" not in seen for other in order if other != index)
            assert seen.count("«why ") == 1 and f"«why {index}»" in seen
        assert all(token not in body for token in dataclasses.asdict(rendered.tokens).values())
