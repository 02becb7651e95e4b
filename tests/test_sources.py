"""Fetching listings from URLs (a real HTTP server on loopback): conditional GET, and every fault named."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from digest.errors import ExitStatus

from conftest import Project
from http_server import HTTPServer

LISTINGS = Path(__file__).parent / "data" / "listings"


def with_sources(project: Project, server: HTTPServer, *entries: tuple[str, str], extra: str = "") -> None:
    lines = "".join(f"  - {{name: {name}, url: '{server.url(path)}'{extra}}}\n" for name, path in entries)
    project.config.write_text(project.config.read_text() + "sources:\n" + lines)


def inbox(project: Project) -> list[str]:
    return sorted(path.name for path in project.inbox.iterdir() if path.is_file())


def test_fetch_writes_a_new_listing_and_then_nothing_while_it_is_unchanged(
    project: Project, http_server: HTTPServer
) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    http_server.site.bodies["/cs.LG.rss"] = (LISTINGS / "arxiv.rss").read_bytes()
    with_sources(project, http_server, ("daily", "/daily.json"), ("arxiv-lg", "/cs.LG.rss"))
    first = project.run("fetch", "--verbose")
    assert first.code == ExitStatus.OK, first.stderr
    assert inbox(project) == ["arxiv-lg-20261122T090000Z.xml", "daily-20261122T090000Z.json"]
    # The second time the server answers 304 to the conditional GET: nothing is written.
    again = project.run("fetch", "--verbose")
    assert again.code == ExitStatus.OK and again.stdout.count("unchanged") == 2
    assert len(inbox(project)) == 2
    _, headers = http_server.site.requests[-1]
    assert headers["if-none-match"].startswith('"') and headers["user-agent"].startswith("digest/")
    assert "https://digest.example.org/" in headers["user-agent"]
    # Both listings were ingested at once, like any dump: the same four papers, new once, known by id the second time.
    assert "daily-20261122T090000Z.json: ingested, 4 papers, 4 new" in first.stdout
    assert "arxiv-lg-20261122T090000Z.xml: ingested, 4 papers, 0 new" in first.stdout
    assert project.run("ingest", "--json").lines == []  # nothing left waiting in the inbox
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 4


def test_an_unchanged_body_without_validators_writes_nothing(project: Project, http_server: HTTPServer) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    with_sources(project, http_server, ("daily", "/no-etag/daily.json"))
    assert project.run("fetch").code == ExitStatus.OK
    assert project.run("fetch").code == ExitStatus.OK
    assert len(inbox(project)) == 1


def test_every_fault_is_one_line_naming_the_source_and_the_others_are_fetched(
    project: Project, http_server: HTTPServer
) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    with_sources(
        project, http_server, ("slow", "/slow"), ("down", "/fail"), ("huge", "/huge"), ("daily", "/daily.json")
    )
    project.config.write_text(
        project.config.read_text()
        .replace("url: '" + http_server.url("/slow") + "'", "url: '" + http_server.url("/slow") + "', timeout: 1s")
        .replace("url: '" + http_server.url("/huge") + "'", "url: '" + http_server.url("/huge") + "', max_size: 100KB")
        + f"  - {{name: refused, url: 'http://127.0.0.1:{refused_port}/listing.json'}}\n"
    )
    result = project.run("fetch")
    assert result.code == ExitStatus.PARTIAL
    lines = sorted(result.stderr.splitlines())
    assert len(lines) == 4, result.stderr
    assert lines[0].startswith("digest: fetch down: the server answered 503 Service Unavailable")
    assert lines[1].startswith("digest: fetch huge: the answer is larger than max_size (100 KB); stopped reading")
    assert lines[2].startswith("digest: fetch refused: cannot connect")
    assert lines[3].startswith("digest: fetch slow: no complete answer within 1 s (timeout)")
    assert all(line.endswith("nothing written") for line in lines)
    assert inbox(project) == ["daily-20261122T090000Z.json"]  # the good one was fetched all the same
    status = json.loads(project.run("status", "--json").stdout)
    by_name = {row["name"]: row for row in status["sources"]}
    assert by_name["daily"]["last_success_at"] and by_name["daily"]["last_error"] is None
    assert by_name["down"]["last_success_at"] is None and "503" in by_name["down"]["last_error"]


def test_run_fetches_before_it_ingests_and_publishes(project: Project, http_server: HTTPServer) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    with_sources(project, http_server, ("daily", "/daily.json"))
    project.config.write_text(project.config.read_text().replace("inbox_settle: 0s", "inbox_settle: 30s"))
    result = project.run("run", "--verbose")
    assert result.code == ExitStatus.OK, result.stderr
    assert "fetch daily: new listing" in result.stdout and "published 2026-03-13: 4 new papers" in result.stdout


def test_sources_are_checked_with_their_key_named(project: Project) -> None:
    project.config.write_text(project.config.read_text() + "sources:\n  - {name: 'bad name', url: 'ftp://x'}\n")
    result = project.run("fetch")
    assert result.code == ExitStatus.USAGE and "sources[1].name" in result.stderr
    project.write_config()
    assert "lists no sources" in project.run("fetch").stderr


def test_fetch_ingests_its_listing_at_once_however_young_the_file(project: Project, http_server: HTTPServer) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    settled = project.config.read_text().replace("inbox_settle: 0s", "inbox_settle: 1h")
    project.config.write_text(settled)  # (any other file younger than an hour would wait)
    with_sources(project, http_server, ("daily", "/daily.json"))
    fetched = project.run("fetch")
    assert (fetched.code, fetched.stdout, fetched.stderr) == (0, "", "")  # quiet without a terminal
    assert json.loads(project.run("status", "--json").stdout)["papers"] == 4
    after = project.run("ingest", "--verbose")
    assert after.code == 0 and after.stdout == "nothing to ingest\n"


def test_a_trickling_source_is_abandoned_at_its_deadline(project: Project, http_server: HTTPServer) -> None:
    import time

    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    with_sources(project, http_server, ("trickle", "/trickle"), ("daily", "/daily.json"), extra=", timeout: 2s")
    start = time.monotonic()
    result = project.run("fetch")
    took = time.monotonic() - start
    assert result.code == ExitStatus.PARTIAL
    assert result.stderr.startswith("digest: fetch trickle: no complete answer within 2 s (timeout); nothing written")
    assert took < 6, took  # not the minute the server would go on for
    assert inbox(project) == ["daily-20261122T090000Z.json"]


def test_redirects_are_followed_only_where_the_source_may_lead(project: Project, http_server: HTTPServer) -> None:
    http_server.site.bodies["/daily.json"] = (LISTINGS / "daily_papers_nested.json").read_bytes()
    with_sources(
        project,
        http_server,
        ("moved", "/redirect?to=/daily.json"),  # loopback to loopback: the source's own kind of address
        ("metadata", "/redirect?to=http://169.254.169.254/latest/meta-data/"),
        ("private", "/redirect?to=http://10.0.0.1:8080/admin"),
        ("file", "/redirect?to=file:///etc/passwd"),
    )
    result = project.run("fetch")
    assert result.code == ExitStatus.PARTIAL
    lines = sorted(result.stderr.splitlines())
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith("digest: fetch file: redirected to 'file:///etc/passwd', not an http(s) URL")
    assert lines[1].startswith(
        "digest: fetch metadata: redirected to http://169.254.169.254/latest/meta-data/ (a link-local address)"
    )
    assert lines[2].startswith("digest: fetch private: redirected to http://10.0.0.1:8080/admin (a private address)")
    assert inbox(project) == ["moved-20261122T090000Z.json"]


def test_a_redirect_from_a_public_source_to_an_internal_address_is_refused() -> None:
    from digest.listings.sources import FetchError, _redirect, address_kind

    assert address_kind("127.0.0.1") == "loopback" and address_kind("::1") == "loopback"
    assert address_kind("10.1.2.3") == "private" and address_kind("192.168.1.1") == "private"
    assert address_kind("169.254.169.254") == "link-local" and address_kind("::ffff:127.0.0.1") == "loopback"
    assert address_kind("93.184.216.34") == "public" and address_kind("localhost") == "loopback"
    assert _redirect("https://93.184.216.34/feed", "https://93.184.216.34/feed", "/new") == "https://93.184.216.34/new"
    for internal in ("http://127.0.0.1:5432/", "http://localhost:8000/", "http://[::1]/", "http://10.0.0.5/"):
        try:
            _redirect("https://93.184.216.34/feed", "https://93.184.216.34/feed", internal)
        except FetchError as exc:
            assert "address) from a source that is not one; not followed" in str(exc)
        else:
            raise AssertionError(f"{internal} followed")
