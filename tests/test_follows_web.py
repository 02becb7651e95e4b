"""The web side of follows and suggestions (the preferences page), and a new reader's first papers (the
confirmation's answer): real HTTP, real browser, every change a POST with its CSRF field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_preferences import listed, post, preferences_link
from test_web import Served, start_served

from browser import screenshot_dir
from smtp_server import SMTPServer

DIFFUSION = [
    "Diffusion Model Alignment Using Direct Preference Optimization",
    "Tuning Timestep-Distilled Diffusion Model Using Pairwise Sample Optimization",
    "Learning Energy-Based Models by Cooperative Diffusion Recovery Likelihood",
    "DiffusionRet: Generative Text-Video Retrieval with Diffusion Model",
    "Policy-Guided Diffusion",
]
FIRST = "Making the Most of your Model: Methods for Finetuning and Applying Pretrained Transformers"


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def test_a_reader_follows_and_unfollows_authors_on_the_preferences_page(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org")
    run("send")
    url = preferences_link(served, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        assert "Authors you follow" in page.text and "Suggested interests" not in page.text  # no likes yet
        followed = post(client, page, url, action="follow", name="  A.   Vaswani ")
        assert "You now follow A. Vaswani: their new papers come first in your mail." in followed.text
        again = post(client, followed, url, action="follow", name="a. vaswani")
        assert "You follow a. vaswani already." in again.text
        hostile = post(client, again, url, action="follow", name='<script>alert("x")</script> Bob\x00 Ross')
        assert hostile.status_code == 200 and "<script>alert" not in hostile.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Bob Ross" in hostile.text
        refused = hostile
        for name, says in (("\x00", "the name is empty"), ("x" * 5000, "more than 100"), ("=1+2", "no letter")):
            refused = post(client, refused, url, action="follow", name=name)
            assert refused.status_code == 400 and says in refused.text and "Nothing was changed" in refused.text
        assert "follows: A. Vaswani, <script>" in listed(served, "ada@example.org")
        gone = post(client, refused, url, action="unfollow", name="Ashish Vaswani")  # (another way to write it)
        assert "You no longer follow A. Vaswani." in gone.text
        nobody = post(client, gone, url, action="unfollow", name="Anna Vaswani")
        assert "You do not follow Anna Vaswani, so nothing was changed." in nobody.text
    forged = httpx.post(url, data={"csrf": "1.abc", "action": "follow", "name": "Yann LeCun"})
    assert "nothing was changed" in forged.text
    assert "LeCun" not in listed(served, "ada@example.org")


def test_suggested_interests_are_shown_and_added_with_one_button(served: Served) -> None:
    run = served.project.run
    run("subscribers", "add", "ada@example.org", "--interests", "robotics")
    assert run("subscribers", "like", "ada@example.org", *DIFFUSION).code == 0
    suggested = run("subscribers", "suggest", "ada@example.org").lines
    assert suggested and "robotics" not in suggested
    run("send")
    url = preferences_link(served, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        assert "Suggested interests" in page.text
        terms = re.findall(r'name="term" value="([^"]+)"', page.text)
        assert terms == suggested
        added = post(client, page, url, action="add-interest", term=terms[0])
        assert f"Added “{terms[0]}”: your interests are now" in added.text
        assert f'name="term" value="{terms[0]}"' not in added.text  # no longer suggested
        forged_term = post(client, added, url, action="add-interest", term="<b>x</b>, y")
        assert forged_term.status_code == 400 and "<b>x</b>" not in forged_term.text
    assert f"interests: {terms[0].casefold()}, robotics" in listed(served, "ada@example.org")
    assert run("subscribers", "suggest", "ada@example.org").lines == suggested[1:]


def confirm_link(served: Served, address: str) -> str:
    with httpx.Client() as client:
        form = client.get(served.base + "subscribe")
        assert "Check your inbox" in post(client, form, served.base + "subscribe", email=address).text
    (mail,) = served.mails_to(address, expect=1)
    (link,) = re.findall(r"(http://\S+/confirm/\S+)", mail.get_content())
    return str(link)


def test_confirming_offers_the_latest_top_papers_each_with_more_like_this(served: Served) -> None:
    link = confirm_link(served, "new@example.org")
    with httpx.Client() as client:
        assert "More like this" not in client.get(link).text  # opening the link shows the confirm button only
        page = client.post(link)
        assert page.status_code == 200 and "You are subscribed" in page.text
        assert served.status_of("new@example.org") == "active"
        papers = re.findall(r'name="paper" value="([0-9]+)"', page.text)
        assert len(papers) == 10 and page.text.count(">More like this</button>") == 10
        assert FIRST.split(":")[0] in page.text  # the listing's order: its first paper first
        (action,) = set(re.findall(r'<form class="card first-paper[^"]*" method="post" action="([^"]+)"', page.text))
        welcome = str(httpx.URL(link).join(action))
        liked = post(client, page, welcome, paper=papers[0], choice="like")
        assert "Thank you: papers like this one now come first in your mail." in liked.text
        assert liked.text.count(">More like this</button>") == 9 and ">Undo</button>" in liked.text
        votes = served.project.run("subscribers", "votes", "new@example.org").lines
        assert votes == [f"like     {FIRST}"]
        undone = post(client, liked, welcome, paper=papers[0], choice="none")
        assert "Undone" in undone.text
        assert served.project.run("subscribers", "votes", "new@example.org").lines == []
        for fields in ({"paper": "abc"}, {"paper": "١٢"}, {"paper": papers[1], "choice": "dislike"}):
            assert post(client, undone, welcome, **fields).status_code == 400
        assert post(client, undone, welcome, paper="99999999").status_code == 400
    forged = httpx.post(welcome, data={"csrf": "1.abc", "paper": papers[1], "choice": "like"})
    assert "The page had expired" in forged.text
    assert httpx.get(welcome).text.count(">More like this</button>") == 10  # a GET shows, records nothing
    assert served.project.run("subscribers", "votes", "new@example.org").lines == []
    assert httpx.get(welcome.replace("/welcome/", "/welcome/x")).status_code == 400


def test_a_new_reader_likes_first_papers_in_a_browser_and_the_first_mail_follows(
    served: Served, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    link = confirm_link(served, "new@example.org")
    shots = screenshot_dir(tmp_path_factory)
    page = browser.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto(link)
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        page.screenshot(path=str(shots / "welcome-375.png"), full_page=True)
        page.get_by_role("button", name=f"More like this: {DIFFUSION[0]}").click()
        page.get_by_text("Thank you: papers like this one now come first in your mail.").wait_for()
        page.get_by_role("button", name=f"Undo: {DIFFUSION[0]}").wait_for()
        page.screenshot(path=str(shots / "welcome-liked-375.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.close()
    assert served.project.run("send").code == 0
    mail = served.mails_to("new@example.org", expect=2)[-1]
    html = str(mail.get_body(("html",)).get_content())
    assert re.search(r">\s*For you\s*<", html) and "like “Diffusion Model Alignment" in html
    # From the mail, the preferences page: follow an author with its field, in the browser too.
    page = browser.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto(re.findall(r'href="(http[^"]+/preferences/[^"]+)"', html)[0])
        page.get_by_label("Follow an author").fill("Łukasz  Kaiser")
        page.get_by_role("button", name="Follow", exact=True).click()
        page.get_by_text("You now follow Łukasz Kaiser: their new papers come first in your mail.").wait_for()
        page.screenshot(path=str(shots / "preferences-follows-375.png"), full_page=True)
        page.get_by_role("button", name="Unfollow Łukasz Kaiser").click()
        page.get_by_text("You no longer follow Łukasz Kaiser.").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.close()
