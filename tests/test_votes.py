"""Personal mail end to end: readers with different likes get different orders; votes from the mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web import Served, start_served

from smtp_server import SMTPServer


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def html_of(served: Served, address: str) -> str:
    message = served.mails_to(address, expect=1)[-1]
    return str(message.get_body(("html",)).get_content())


def card_titles(html: str) -> list[str]:
    return re.findall(r'class="paper-title"[^>]*><a [^>]*>([^<]+)</a>', html)


def vote_links(html: str) -> list[str]:
    return re.findall(r'href="(http[^"]+/vote/[^"]+)"', html)


def press(client: httpx.Client, page: httpx.Response, url: str, choice: str) -> httpx.Response:
    """Post the vote form of ``page`` (its CSRF field goes with the cookie the page set)."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return client.post(url, data={"csrf": csrf.group(1), "choice": choice})


def votes(served: Served, address: str) -> list[str]:
    return served.project.run("subscribers", "votes", address).lines


def test_two_readers_with_different_likes_get_different_orders(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "retrieval@example.org")
    run(
        "subscribers",
        "like",
        "retrieval@example.org",
        "PROP: Pre-training with Representative Words Prediction for Ad-hoc Retrieval",
    )
    run("subscribers", "add", "alignment@example.org")
    run(
        "subscribers", "like", "alignment@example.org", "Diffusion Model Alignment Using Direct Preference Optimization"
    )
    run("subscribers", "add", "plain@example.org")
    assert run("send").code == 0
    retrieval = html_of(served, "retrieval@example.org")
    alignment = html_of(served, "alignment@example.org")
    plain = html_of(served, "plain@example.org")
    assert card_titles(retrieval) != card_titles(alignment)
    assert any("Retrieval" in title for title in card_titles(retrieval)[:3])
    assert any("Preference" in title or "Alignment" in title for title in card_titles(alignment)[:3])
    assert "For you" in retrieval and "Top papers" in plain
    assert re.search(r"Why:\s+like “PROP: Pre-training", retrieval)
    for html in (retrieval, alignment, plain):  # every paper in every mail, once
        assert html.count('class="paper-title"') + html.count('class="line"') == 89


def test_a_vote_link_shows_a_page_on_get_and_records_only_on_post(served: Served) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    assert served.project.run("send").code == 0
    html = html_of(served, "ada@example.org")
    more, less = vote_links(html)[:2]
    assert more.endswith("/more") and less.endswith("/less")
    title = card_titles(html)[0]
    for method in ("GET", "HEAD", "OPTIONS"):
        httpx.request(method, more)
    assert votes(served, "ada@example.org") == []  # link scanners change nothing
    with httpx.Client() as client:
        page = client.get(more)
        assert page.status_code == 200 and "<button" in page.text and title.split(":")[0] in page.text
        done = press(client, page, more, "like")
        assert done.status_code == 200 and "now come first" in done.text and ">Undo<" in done.text
        assert votes(served, "ada@example.org") == [f"like     {title}"]
        again = press(client, done, more, "like")  # twice: harmless
        assert "already your vote" in again.text
        assert votes(served, "ada@example.org") == [f"like     {title}"]
        undo = press(client, again, more, "none")
        assert "Undone" in undo.text and ">More like this<" in undo.text
        assert votes(served, "ada@example.org") == []
        press(client, client.get(less), less, "dislike")
        assert votes(served, "ada@example.org") == [f"dislike  {title}"]


def test_a_vote_post_needs_the_pages_csrf_field(served: Served) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    served.project.run("send")
    more = vote_links(html_of(served, "ada@example.org"))[0]
    forged = httpx.post(more, data={"csrf": "1.abc", "choice": "like"})
    assert forged.status_code == 200 and "expired" in forged.text
    assert votes(served, "ada@example.org") == []


@pytest.mark.parametrize(
    "path",
    [
        "vote/1.AAAAAAAAAAAAAAAAAAAAAAAA/1/more",
        "vote/garbage/1/more",
        "vote/{token}/99999999999999999999999/more",
        "vote/{token}/999999/more",
        "vote/{token}/1/sideways",
        "vote/{token}/-1/more",
    ],
)
def test_bad_vote_links_get_a_400_never_a_500(served: Served, path: str) -> None:
    served.project.run("subscribers", "add", "ada@example.org")
    served.project.run("send")
    token = vote_links(html_of(served, "ada@example.org"))[0].split("/vote/")[1].split("/")[0]
    for method in ("GET", "POST"):
        response = httpx.request(method, served.base + path.format(token=token), data={"choice": "like"})
        assert response.status_code == 400, path
        assert "ada@example.org" not in response.text
    assert votes(served, "ada@example.org") == []
