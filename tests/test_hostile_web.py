"""Hostile readers on the web: NUL bytes, odd digits, CSRF values moved between pages, foreign origins, leavers,
limits, and GETs that must write nothing."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web import Served, start_served

from digest.store import open_store
from digest.tokens import make_token, secret_key

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project
from smtp_server import SMTPServer

KEY = secret_key(value=SECRET)
TITLE = "PROP: Pre-training with Representative Words Prediction for Ad-hoc Retrieval"


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


@pytest.fixture
def pg_served(tmp_path: Path, smtp_server: SMTPServer, postgres_url: str) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server, database=postgres_url) as running:
        yield running


def store_of(served: Served):  # type: ignore[no-untyped-def]
    database = served.project.database
    url = f"sqlite:///{served.project.root / 'digest.db'}" if database.startswith("sqlite") else database
    return open_store(url, now=dt.datetime.now(dt.UTC))


def reader(served: Served, address: str, *args: str) -> int:
    assert served.project.run("subscribers", "add", address, *args).code == 0
    with store_of(served) as store:
        found = store.subscribers.by_email(address)
    assert found is not None
    return found.id


def link(served: Served, action: str, subscriber_id: int, address: str) -> str:
    return f"{served.base}{action}/{make_token(KEY, action, subscriber_id, address)}"  # type: ignore[arg-type]


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def feed_link(page: httpx.Response) -> str | None:
    found = re.search(r'class="feed-url"><a href="([^"]+)"', page.text)
    return found.group(1) if found else None


def check_nul_bytes(served: Served) -> None:
    ada = reader(served, "ada@example.org")
    url = link(served, "preferences", ada, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        saved = client.post(url, data={"csrf": csrf_of(page), "action": "save", "interests": "spe\x00ech, gra\x00phs"})
        assert saved.status_code == 200 and "Your interests are now: graphs, speech." in saved.text
        removed = client.post(url, data={"csrf": csrf_of(saved), "action": "remove", "vote": "arxiv:\x00x"})
        assert removed.status_code == 200
        form = client.get(f"{served.base}subscribe")
        sent = client.post(
            f"{served.base}subscribe",
            data={"csrf": csrf_of(form), "email": "nul@example.org", "interests": "a\x00i, ml"},
        )
        assert sent.status_code == 200 and "Check your inbox" in sent.text
        again = client.get(f"{served.base}subscribe")
        stripped = client.post(f"{served.base}subscribe", data={"csrf": csrf_of(again), "email": "n\x00ul@example.org"})
        assert stripped.status_code == 200  # the NUL is dropped at the edge: the same address as above
    assert len(served.mails_to("nul@example.org", expect=2)) == 2  # the subscription was recorded, not lost
    assert served.status_of("nul@example.org") == "pending"


def test_nul_bytes_in_forms_are_dropped_at_the_edge(served: Served) -> None:
    check_nul_bytes(served)


@pytest.mark.postgres
def test_nul_bytes_in_forms_are_dropped_at_the_edge_on_postgresql(pg_served: Served) -> None:
    check_nul_bytes(pg_served)


@pytest.mark.parametrize("paper", ["\u00b2", "\u2460", "\u0661", "\uff11", "01", "1" * 16, "-1", "1.0"])
def test_a_vote_links_paper_id_is_ascii_digits_of_bounded_length(served: Served, paper: str) -> None:
    ada = reader(served, "ada@example.org")
    for direction in ("more", "less"):
        url = f"{link(served, 'vote', ada, 'ada@example.org')}/{paper}/{direction}"
        answer = httpx.get(url)
        assert answer.status_code == 400 and "This link does not work" in answer.text
    assert httpx.get(f"{link(served, 'vote', ada, 'ada@example.org')}/1/more").status_code == 200


def test_a_get_of_the_preferences_page_writes_nothing(served: Served) -> None:
    ada = reader(served, "ada@example.org")
    with store_of(served) as store:
        before = store.db.execute("SELECT * FROM subscribers ORDER BY id")
    url = link(served, "preferences", ada, "ada@example.org")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        pages = list(pool.map(lambda _: httpx.get(url), range(16)))
    assert {page.status_code for page in pages} == {200}
    feeds = {feed_link(page) for page in pages}
    assert len(feeds) == 1 and None not in feeds  # one feed address, made with the reader
    with store_of(served) as store:
        assert store.db.execute("SELECT * FROM subscribers ORDER BY id") == before
    assert httpx.get(feeds.pop() or "").status_code == 200


@pytest.mark.postgres
def test_parallel_first_visits_show_one_feed_address_on_postgresql(pg_served: Served) -> None:
    ada = reader(pg_served, "ada@example.org")
    url = link(pg_served, "preferences", ada, "ada@example.org")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        pages = list(pool.map(lambda _: httpx.get(url), range(16)))
    feeds = {feed_link(page) for page in pages}
    assert len(feeds) == 1 and None not in feeds
    assert httpx.get(feeds.pop() or "").status_code == 200


def test_a_reader_who_left_has_a_closed_feed_and_can_come_back(served: Served) -> None:
    ada = reader(served, "ada@example.org", "--interests", "retrieval")
    url = link(served, "preferences", ada, "ada@example.org")
    feed = feed_link(httpx.get(url))
    assert feed and httpx.get(feed).status_code == 200
    assert served.project.run("subscribers", "remove", "ada@example.org").code == 0
    gone = httpx.get(feed)
    assert gone.status_code == 410 and "unsubscribed" in gone.text
    with httpx.Client() as client:
        page = client.get(url)
        assert page.status_code == 200 and "You are unsubscribed" in page.text and "Subscribe again" in page.text
        assert 'name="interests"' not in page.text
        back = client.post(url, data={"csrf": csrf_of(page), "action": "resubscribe"})
        assert "Welcome back" in back.text and 'name="interests"' in back.text
    assert served.status_of("ada@example.org") == "active"
    assert httpx.get(feed).status_code == 200


def test_limits_on_terms_and_on_the_votes_listed(served: Served) -> None:
    ada = reader(served, "ada@example.org")
    path = served.project.root / "likes.csv"
    likes = "\n".join(f"A paper nobody lists number {n}" for n in range(10_000))
    path.write_text(f'email,likes,dislikes\nada@example.org,"{likes}",{TITLE}\n', encoding="utf-8")
    assert served.project.run("subscribers", "import", str(path)).code == 0
    url = link(served, "preferences", ada, "ada@example.org")
    with httpx.Client() as client:
        page = client.get(url)
        assert page.status_code == 200 and len(page.content) < 200_000
        assert page.text.count('name="action" value="remove"') == 101
        assert "…and 9900 older ones (the most recent 100 are listed here)" in page.text
        long = client.post(url, data={"csrf": csrf_of(page), "action": "save", "interests": "x" * 501})
        assert long.status_code == 400 and "interests: 501 characters, more than 500" in long.text
        form = client.get(f"{served.base}subscribe")
        sent = client.post(
            f"{served.base}subscribe",
            data={
                "csrf": csrf_of(form),
                "email": "bob@example.org",
                "interests": ", ".join(f"t{n}" for n in range(31)),
            },
        )
        assert sent.status_code == 400 and "31 terms, more than 30" in sent.text
    assert served.status_of("bob@example.org") is None


def test_csrf_values_are_bound_to_their_page_and_foreign_origins_are_refused(served: Served) -> None:
    ada, bob = reader(served, "ada@example.org"), reader(served, "bob@example.org")
    ada_url = link(served, "preferences", ada, "ada@example.org")
    bob_url = link(served, "preferences", bob, "bob@example.org")
    vote_url = f"{link(served, 'vote', bob, 'bob@example.org')}/1/more"
    with httpx.Client() as client:
        ada_page = client.get(ada_url)
        client.get(bob_url)  # (the same browser has both pages' cookie path)
        field = csrf_of(ada_page)
        moved = client.post(bob_url, data={"csrf": field, "action": "save", "interests": "evil"})
        assert "The page had expired" in moved.text
        client.get(vote_url)
        voted = client.post(vote_url, data={"csrf": field, "choice": "like"})
        assert "The page had expired" in voted.text
        foreign = client.post(
            ada_url,
            data={"csrf": field, "action": "save", "interests": "evil"},
            headers={"origin": "https://evil.example"},
        )
        assert foreign.status_code == 403 and "another site" in foreign.text
        blank = client.post(
            ada_url, data={"csrf": field, "action": "save", "interests": "evil"}, headers={"origin": "null"}
        )
        assert blank.status_code == 403
        own = client.post(
            ada_url,
            data={"csrf": csrf_of(client.get(ada_url)), "action": "save", "interests": "fine"},
            headers={"origin": served.base.rstrip("/")},
        )
        assert own.status_code == 200 and "Your interests are now: fine." in own.text
    assert "evil" not in served.project.run("subscribers", "list").stdout
    # One-click unsubscribe comes from mail providers' servers: their Origin does not stop it.
    gone = httpx.post(
        link(served, "unsubscribe", bob, "bob@example.org"),
        data={"List-Unsubscribe": "One-Click"},
        headers={"origin": "https://mail.example"},
    )
    assert gone.status_code == 200 and served.status_of("bob@example.org") == "unsubscribed"


def test_the_personal_feeds_etag_follows_what_it_is_built_from(served: Served) -> None:
    ada = reader(served, "ada@example.org", "--interests", "retrieval")
    feed = feed_link(httpx.get(link(served, "preferences", ada, "ada@example.org")))
    assert feed
    first = httpx.get(feed)
    etag = first.headers["etag"]
    assert httpx.get(feed, headers={"if-none-match": etag}).status_code == 304
    assert httpx.get(feed).content == first.content  # (kept: the same bytes)
    assert served.project.run("subscribers", "like", "ada@example.org", TITLE).code == 0
    changed = httpx.get(feed, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and changed.content != first.content
    other = reader(served, "bob@example.org", "--interests", "retrieval")
    bobs = feed_link(httpx.get(link(served, "preferences", other, "bob@example.org")))
    assert bobs and httpx.get(bobs).headers["etag"] != changed.headers["etag"]


def test_a_conditional_get_or_a_repeat_builds_no_feed(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed's ETag is known before anything is built; a built feed is kept for the repeats."""
    import asyncio

    from digest.config import load_config
    from digest.web.app import WebApp
    from digest.web.personal_feeds import PersonalFeeds

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("run").code == 0
    assert project.run("subscribers", "add", "ada@example.org", "--interests", "retrieval").code == 0
    config = load_config(project.config, project.environ)
    builds: list[int] = []
    build = PersonalFeeds._build

    def counted(self: PersonalFeeds, *args: object) -> bytes | None:
        builds.append(1)
        return build(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(PersonalFeeds, "_build", counted)
    web = WebApp(config, open_store=lambda: open_store(config.database, now=NOW), secret=KEY, send_confirmation=print)
    with open_store(config.database, now=NOW) as store:
        ada = store.subscribers.by_email("ada@example.org")
        assert ada is not None
        identity = store.profiles.feed_identity(ada.id)
    url = f"/feed/{make_token(KEY, 'feed', ada.id, identity or '')}"

    async def visits() -> None:
        transport = httpx.ASGITransport(app=web.application())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = await client.get(url)
            assert first.status_code == 200 and len(builds) == 1
            assert (await client.get(url, headers={"if-none-match": first.headers["etag"]})).status_code == 304
            assert (await client.get(url)).content == first.content
            assert len(builds) == 1  # neither the conditional GET nor the repeat built it again
            assert project.run("subscribers", "like", "ada@example.org", TITLE).code == 0
            again = await client.get(url, headers={"if-none-match": first.headers["etag"]})
            assert again.status_code == 200 and len(builds) == 2

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # (a loop of its own, whatever runs in this thread)
        pool.submit(asyncio.run, visits()).result()
