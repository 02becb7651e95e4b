"""Delivery through a real SMTP server: headers, parts, failures, filters, the ledger."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from digest.errors import ExitStatus
from digest.tokens import TokenError, make_token, secret_key, verify_token

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project
from smtp_server import SMTPServer

READERS = ["ada@example.org", "grace@example.org", "alan@example.net"]


def ready(project: Project, smtp: SMTPServer | None, *, delivery: str = "", extra: str = "") -> None:
    """A published digest of the first example dump and three active subscribers."""
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    if smtp is not None:
        project.environ["DIGEST_SMTP_URL"] = smtp.url
    project.write_config(extra, delivery=delivery)
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    for address in READERS:
        assert project.run("subscribers", "add", address).code == 0


@pytest.fixture(params=["one command at a time", "pipelined"])
def pipelining(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with and without SMTP pipelining (aiosmtpd reads pipelined commands, but does not offer it)."""
    from digest.mail.smtp import SMTPTransport

    monkeypatch.setattr(SMTPTransport, "pipelining", staticmethod(lambda conn: request.param == "pipelined"))
    return str(request.param)


def deliveries(project: Project) -> dict[str, object]:
    return json.loads(project.run("deliveries", "--json").stdout)  # type: ignore[no-any-return]


def test_every_subscriber_gets_one_well_formed_message(
    project: Project, smtp_server: SMTPServer, pipelining: str
) -> None:
    ready(
        project, smtp_server, extra="email:\n  unsubscribe_mailto: leave@example.org\n  list_id: papers.example.org\n"
    )
    result = project.run("send")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    got = smtp_server.sink.by_recipient()
    assert sorted(got) == sorted(READERS) and all(len(items) == 1 for items in got.values())
    ids = set()
    for address, (item,) in got.items():
        message = item.message
        assert item.mail_from == "digest@localhost"
        assert message["To"] == address
        assert message["From"] == "Paper digest <digest@localhost>"
        assert message["Subject"] == "89 new papers for 2026-03-12"
        assert message["Date"] and message["Auto-Submitted"] == "auto-generated" and message["Precedence"] == "bulk"
        assert message["List-Id"] == "Trending papers <papers.example.org>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = message["List-Unsubscribe"]
        match = re.fullmatch(
            r"<(https://digest\.example\.org/unsubscribe/([\w.-]+))>, <mailto:leave@example\.org\?subject=unsubscribe>",
            header,
        )
        assert match, header
        url, token = match.groups()
        assert message["Message-ID"].endswith("@papers.example.org>")
        ids.add(message["Message-ID"])
        assert message.get_content_type() == "multipart/alternative"
        text, html = list(message.iter_parts())
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert url in text.get_content() and url in html.get_content()
        assert "Making the Most of your Model" in html.get_content()
        # The token is this subscriber's and nobody else's.
        key = secret_key(value=SECRET)
        subscriber_id = verify_token(key, "unsubscribe", token, lambda i, a=address: a)
        assert subscriber_id >= 1
        with pytest.raises(TokenError):
            verify_token(key, "unsubscribe", token, lambda i: "someone@else.org")
    assert len(ids) == 3
    assert deliveries(project)["sent"] == 3


def test_a_rerun_sends_nothing_and_the_message_id_is_stable(project: Project, smtp_server: SMTPServer) -> None:
    ready(project, smtp_server)
    project.run("send")
    first = {item.rcpt_tos[0]: item.message["Message-ID"] for item in smtp_server.sink.received}
    assert project.run("send").code == 0
    assert len(smtp_server.sink.received) == 3
    # A new subscriber joining later gets the digest on the next run, and only they do.
    project.run("subscribers", "add", "late@example.org")
    project.run("send")
    assert [item.rcpt_tos for item in smtp_server.sink.received[3:]] == [["late@example.org"]]
    # Stable per digest and subscriber: a resend after a crash carries the same id.
    assert first["ada@example.org"] == "<digest-1.1@digest.digest.example.org>"


def test_temporary_failures_are_retried(project: Project, smtp_server: SMTPServer, pipelining: str) -> None:
    ready(project, smtp_server)
    smtp_server.sink.fail("ada@example.org", "450")
    smtp_server.sink.fail("grace@example.org", "drop")
    smtp_server.sink.fail("alan@example.net", "451-data")
    result = project.run("send")
    assert result.code == 0, result.stderr
    assert sorted(smtp_server.sink.by_recipient()) == sorted(READERS)


def test_a_lasting_temporary_failure_is_left_for_a_later_run(
    project: Project, smtp_server: SMTPServer, pipelining: str
) -> None:
    ready(project, smtp_server, delivery="  retries: 2\n")
    smtp_server.sink.fail("ada@example.org", "450", "450")
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    assert "not delivered: ada@example.org: 450" in result.stderr
    assert "ada@example.org" not in smtp_server.sink.by_recipient()
    state = deliveries(project)
    assert (state["sent"], state["queued"]) == (2, 1)
    # The next run soon after leaves it alone, and says that work is left; one after the retry delay delivers it.
    soon = project.run("send", now=NOW + dt.timedelta(minutes=1))
    assert (soon.code, soon.stderr.strip()) == (ExitStatus.PARTIAL, "digest: 1 delivery waits to be retried")
    assert "ada@example.org" not in smtp_server.sink.by_recipient()
    assert project.run("send", now=NOW + dt.timedelta(minutes=11)).code == 0
    assert len(smtp_server.sink.by_recipient()["ada@example.org"]) == 1


def test_a_permanent_failure_fails_that_delivery_and_bounces_the_address(
    project: Project, smtp_server: SMTPServer
) -> None:
    ready(project, smtp_server, delivery="  bounce_limit: 1\n")
    smtp_server.sink.fail("grace@example.org", "550")
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    assert "grace@example.org: 550 5.1.1 No such user here" in result.stderr
    assert sorted(smtp_server.sink.by_recipient()) == ["ada@example.org", "alan@example.net"]
    state = deliveries(project)
    assert (state["sent"], state["failed"]) == (2, 1)
    assert state["failures"][0]["email"] == "grace@example.org"  # type: ignore[index]
    listed = [json.loads(line) for line in project.run("subscribers", "list", "--json").lines]
    assert {row["email"]: row["status"] for row in listed}["grace@example.org"] == "bounced"
    # A re-run does not try a failed delivery again.
    assert project.run("send").code == 0
    assert len(smtp_server.sink.received) == 2


def test_interest_filters(project: Project, smtp_server: SMTPServer) -> None:
    ready(project, smtp_server)
    project.run("subscribers", "add", "ada@example.org", "--include", "diffusion")
    project.run("subscribers", "add", "grace@example.org", "--include", "zebrafish, narwhal")
    project.run("subscribers", "add", "alan@example.net", "--exclude", "transformer, language")
    assert project.run("send").code == 0
    got = smtp_server.sink.by_recipient()
    assert "grace@example.org" not in got  # nothing matched: no mail
    ada = got["ada@example.org"][0].message
    count = int(ada["Subject"].split()[0])
    assert 0 < count < 89
    titles = re.findall(r'class="paper-title"[^>]*><a [^>]*>([^<]+)</a>', ada.get_body(("html",)).get_content())
    assert titles and len(titles) == min(count, 10)
    lines = re.findall(r'class="line"', ada.get_body(("html",)).get_content())
    assert len(titles) + len(lines) == count  # every paper that passes the filter, once
    alan = got["alan@example.net"][0].message.get_body(("plain",)).get_content()
    assert " transformer " not in alan.lower().replace("\n", " ")
    assert deliveries(project)["skipped"] == 1


def test_without_smtp_the_outbox_gets_one_eml_per_message(project: Project) -> None:
    ready(project, None)
    assert project.run("send").code == 0
    files = sorted((project.root / "outbox" / "new").glob("*.eml"))
    assert len(files) == 3
    assert not list((project.root / "outbox").rglob(".*.tmp"))
    assert b"List-Unsubscribe: <https://digest.example.org/unsubscribe/" in files[0].read_bytes()


def test_dry_run_sends_nothing(project: Project, smtp_server: SMTPServer) -> None:
    ready(project, smtp_server)
    result = project.run("send", "--dry-run")
    assert result.code == 0 and "would send to at most 3 active subscribers" in result.stdout
    assert smtp_server.sink.received == []
    assert deliveries(project)["sent"] == 0


def test_without_a_secret_key_the_embedded_default_makes_and_keeps_one(
    project: Project, smtp_server: SMTPServer
) -> None:
    ready(project, smtp_server)
    del project.environ["DIGEST_SECRET_KEY"]
    assert project.run("send").code == ExitStatus.OK
    key_file = project.root / "digest.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    # The links in the mail verify with the kept key: the web pages (started later) accept them.
    (first,) = [item for item in smtp_server.sink.received if "ada@example.org" in item.rcpt_tos]
    token = re.search(r"/unsubscribe/([\w.-]+)>", first.message["List-Unsubscribe"])
    assert token is not None
    verify_token(secret_key(value=key), "unsubscribe", token.group(1), lambda _: "ada@example.org")
    project.run("subscribers", "add", "late@example.org")
    assert project.run("send").code == ExitStatus.OK
    assert key_file.read_text().strip() == key


@pytest.mark.postgres
def test_a_shared_database_needs_the_secret_key_set(pg_project: Project, smtp_server: SMTPServer) -> None:
    project = pg_project
    ready(project, smtp_server)
    del project.environ["DIGEST_SECRET_KEY"]
    result = project.run("send")
    assert result.code == ExitStatus.USAGE
    (line,) = result.stderr.splitlines()
    assert "DIGEST_SECRET_KEY: is not set" in line
    project.environ["DIGEST_SECRET_KEY"] = "short"
    assert "too short" in project.run("send").stderr


def test_a_bad_smtp_url_is_a_clear_config_error(project: Project, smtp_server: SMTPServer) -> None:
    ready(project, smtp_server)
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.environ["DIGEST_SMTP_URL"] = "http://mail.example.org"
    bad_url = project.run("send")
    assert bad_url.code == ExitStatus.USAGE and "DIGEST_SMTP_URL" in bad_url.stderr


def test_an_unreachable_server_stops_the_run_and_says_so_once(project: Project) -> None:
    from smtp_server import free_port

    project.environ["DIGEST_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    ready(project, None, delivery="  retries: 1\n")
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: stopped sending: cannot connect to 127.0.0.1:") and "Connection refused" in line
    assert line.endswith("3 deliveries stay queued for a later run")
    assert deliveries(project)["queued"] == 3


def test_send_needs_a_published_digest(project: Project) -> None:
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    result = project.run("send")
    assert result.code == ExitStatus.USAGE and "digest publish" in result.stderr


# -- tokens ------------------------------------------------------------------------------------


def test_tokens_cannot_be_forged_or_reused() -> None:
    key = secret_key(value=SECRET)
    token = make_token(key, "unsubscribe", 7, "ada@example.org")
    assert verify_token(key, "unsubscribe", token, lambda i: "ada@example.org") == 7
    emails = {7: "ada@example.org", 8: "grace@example.org"}
    for bad in (
        token.replace("7.", "8.", 1),  # another subscriber
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered
        "7.",
        "garbage",
        "",
        "7.x.y.z",
    ):
        with pytest.raises(TokenError):
            verify_token(key, "unsubscribe", bad, emails.get)
    with pytest.raises(TokenError):  # another action
        verify_token(key, "confirm", token, emails.get)
    with pytest.raises(TokenError):  # another key
        verify_token(secret_key(value="another-secret-key-that-is-long-enough-42"), "unsubscribe", token, emails.get)


def test_confirm_tokens_expire() -> None:
    key = secret_key(value=SECRET)
    token = make_token(key, "confirm", 3, "ada@example.org", issued=NOW)
    lookup = {3: "ada@example.org"}.get
    assert (
        verify_token(key, "confirm", token, lookup, now=NOW + dt.timedelta(hours=47), max_age=dt.timedelta(days=2)) == 3
    )
    with pytest.raises(TokenError, match="expired"):
        verify_token(key, "confirm", token, lookup, now=NOW + dt.timedelta(days=3), max_age=dt.timedelta(days=2))


# -- subscribers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("not-an-address", "not a valid address"),
        ("a@b", "not a valid address"),
        ("ada@example.org\r\nBcc: all@example.org", "line break"),
        ("Ada <ada@example.org>", "header syntax"),
        ('"ada"@example.org', "header syntax"),
        ("ada@exa mple.org", "not a valid address"),
    ],
)
def test_bad_addresses_are_refused(project: Project, address: str, words: str) -> None:
    result = project.run("subscribers", "add", address)
    assert result.code == ExitStatus.USAGE
    (line,) = result.stderr.splitlines()
    assert words in line


def test_addresses_are_normalised(project: Project) -> None:
    project.run("subscribers", "add", "  Ada@EXAMPLE.org ")
    project.run("subscribers", "add", "ada@münchen.de")
    listed = [json.loads(line)["email"] for line in project.run("subscribers", "list", "--json").lines]
    assert listed == ["ada@example.org", "ada@xn--mnchen-3ya.de"]


def test_import_reports_bad_rows_and_goes_on(project: Project, tmp_path: Path) -> None:
    csv_file = tmp_path / "readers.csv"
    csv_file.write_text(
        "email,include,exclude\n"
        "ada@example.org,diffusion,\n"
        "not an address,,\n"
        '"grace@example.org","robots, agents","quantum"\n'
        "Eve <eve@example.org>,,\n"
        "alan@example.net,,\n",
        encoding="utf-8",
    )
    result = project.run("subscribers", "import", str(csv_file))
    assert result.code == ExitStatus.PARTIAL
    assert [line.split(": ", 2)[1] for line in result.stderr.splitlines()] == [f"{csv_file}:3", f"{csv_file}:5"]
    exported = project.run("subscribers", "export").lines
    assert exported[0] == "email,status,include,exclude,interests,frequency,likes,dislikes,follows,created_at"
    assert [line.split(",")[0] for line in exported[1:]] == ["ada@example.org", "grace@example.org", "alan@example.net"]
    assert '"agents, robots",quantum' in exported[2]
    missing = project.run("subscribers", "import", str(tmp_path / "none.csv"))
    assert missing.code == ExitStatus.USAGE


def test_remove_unsubscribes(project: Project) -> None:
    project.run("subscribers", "add", "ada@example.org")
    assert project.run("subscribers", "remove", "ada@example.org").code == 0
    assert "unsubscribed" in project.run("subscribers", "list").stdout
    result = project.run("subscribers", "remove", "nobody@example.org")
    assert result.code == ExitStatus.FAILURE and "not a subscriber" in result.stderr


def test_pending_subscribers_get_a_confirmation_mail(project: Project, smtp_server: SMTPServer) -> None:
    project.environ.update(DIGEST_SECRET_KEY=SECRET, DIGEST_SMTP_URL=smtp_server.url)
    assert project.run("subscribers", "add", "new@example.org", "--pending").code == 0
    (item,) = smtp_server.sink.received
    assert item.message["Subject"] == "Confirm your subscription to Trending papers"
    assert re.search(r"https://digest\.example\.org/confirm/\d+\.\d+\.[\w-]+", item.message.get_content())
    assert "pending" in project.run("subscribers", "list").stdout


def liked_before_or_after_publishing(
    project: Project, paper_number: int, *, after: bool, spread_forgotten: bool = False
) -> dict[str, object]:
    """A project whose one reader likes one paper of the digest: the like recorded before the digest was
    published (its ranking row made then) or after, behind the send's back (no row kept for it)."""
    import os

    from digest.config import load_config
    from digest.mail.mailer import mailer_for
    from digest.mail.outbox import OutboxTransport
    from digest.store import open_store

    project.inbox.mkdir(parents=True)
    project.write_config()
    config = load_config(project.config, os.environ)
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("subscribers", "add", READERS[0]).code == 0

    def like() -> None:
        with open_store(config.database, now=NOW) as store:
            paper_id, title, abstract = store.db.execute(
                "SELECT id, title, abstract FROM papers ORDER BY id LIMIT 1 OFFSET ?", (paper_number,)
            )[0]
            store.db.execute(
                "INSERT INTO votes (subscriber_id, paper_key, kind, paper_id, title, abstract, created_at)"
                " SELECT id, ?, 'like', ?, ?, ?, ? FROM subscribers",
                (f"paper:{paper_id}", paper_id, title, abstract, NOW),
            )

    if not after:
        like()
    assert project.run("publish").code == 0
    if after:
        like()
    if spread_forgotten:  # (as a digest kept by an earlier version: the history's spread is found again)
        with open_store(config.database, now=NOW) as store:
            assert store.db.execute("SELECT COUNT(*) FROM ranking_rows WHERE name = 'history-spread'") == [(1,)]
            store.db.execute("DELETE FROM ranking_rows WHERE name = 'history-spread'")
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.named("latest")
        reader = store.subscribers.by_email(READERS[0])
        assert digest is not None and reader is not None
        mailer = mailer_for(store, config, digest, transport=OutboxTransport(project.root / "outbox"), now=NOW)
        profile = mailer.profiles(store, [reader])[reader.id]
        ranking = mailer.rank(reader, profile)
    return {"abstract read": bool(profile.likes[0].abstract), "order": ranking.order, "reasons": ranking.reasons}


def test_a_send_reads_liked_abstracts_only_where_a_ranking_row_must_be_made(tmp_path: Path) -> None:
    """Abstracts are long and read from pages of their own: a send reads them only for a reader whose rows
    are not ready. A like recorded behind its back is ranked from the whole text all the same."""
    kept = liked_before_or_after_publishing(Project(tmp_path / "kept", "sqlite:///digest.db"), 7, after=False)
    made = liked_before_or_after_publishing(Project(tmp_path / "made", "sqlite:///digest.db"), 7, after=True)
    assert kept["abstract read"] is False and made["abstract read"] is True
    assert made["order"] == kept["order"] and made["reasons"] == kept["reasons"]


def test_a_digest_kept_without_the_historys_spread_ranks_as_one_kept_with_it(tmp_path: Path) -> None:
    with_spread = liked_before_or_after_publishing(Project(tmp_path / "with", "sqlite:///digest.db"), 7, after=False)
    without = liked_before_or_after_publishing(
        Project(tmp_path / "without", "sqlite:///digest.db"), 7, after=False, spread_forgotten=True
    )
    assert without["order"] == with_spread["order"] and without["reasons"] == with_spread["reasons"]
