"""Returned mail: VERP envelope senders, then bounces and complaints read back with `digest bounces`."""

from __future__ import annotations

import io
import json
import mailbox
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.cli import Environment, main
from digest.errors import ExitStatus
from digest.tokens import TokenError, make_return_token, read_return_token

from conftest import EXAMPLE_DUMPS, NOW, SECRET, Project, Result
from returned_mail import (
    arf_complaint,
    exim_bounce,
    gmail_dsn,
    microsoft_ndr,
    original_headers,
    out_of_office,
    postfix_dsn,
)
from smtp_server import SMTPServer

READERS = ["ada@example.org", "grace@example.org", "alan@example.net", "edsger@example.com"]
BOUNCES = "delivery:\n  outbox: outbox\n  rate: 0\n  bounce_address: bounces@example.org\n"


def sent(project: Project, smtp: SMTPServer, *, verp: bool = True, bounce_limit: int = 3) -> dict[str, tuple[str, str]]:
    """A digest sent to READERS; each reader's (envelope sender, Message-ID) as the server got them."""
    project.environ.update(DIGEST_SECRET_KEY=SECRET, DIGEST_SMTP_URL=smtp.url)
    extra = f"  bounce_limit: {bounce_limit}\n" + ("  bounce_address: bounces@example.org\n" if verp else "")
    project.config.write_text(
        project.config.read_text(encoding="utf-8").replace("delivery:\n", "delivery:\n" + extra), encoding="utf-8"
    )
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    for address in READERS:
        assert project.run("subscribers", "add", address).code == 0
    assert project.run("send").code == 0
    return {item.rcpt_tos[0]: (item.mail_from, item.message["Message-ID"].strip("<>")) for item in smtp.sink.received}


def read(project: Project, *paths: str | Path, stdin: bytes | None = None, verbose: bool = True) -> Result:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, environ=dict(project.environ), clock=lambda: NOW, interactive=False,
                      stdin=io.BytesIO(stdin) if stdin is not None else None)  # fmt: skip
    args = ["--config", str(project.config), "bounces", *map(str, paths)] + (["--verbose"] if verbose else [])
    code = main(args, env)
    return Result(code, out.getvalue(), err.getvalue())


def statuses(project: Project) -> dict[str, tuple[str, int]]:
    rows = [json.loads(line) for line in project.run("subscribers", "list", "--json").lines]
    return {row["email"]: (row["status"], row["bounces"]) for row in rows}


def drop(folder: Path, *messages: bytes) -> Path:
    box = mailbox.Maildir(folder, create=True)
    for data in messages:
        box.add(data)
    return folder


def headers_of(envelope: tuple[str, str], address: str) -> str:
    sender, message_id = envelope
    return original_headers(sender=sender, recipient=address, message_id=message_id)


def test_each_message_goes_out_with_a_signed_return_path(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    assert sorted(envelopes) == sorted(READERS)
    local_parts = set()
    for sender, _ in envelopes.values():
        local, _, domain = sender.partition("@")
        assert domain == "example.org" and local.startswith("bounces+") and len(local) <= 64
        token = local.removeprefix("bounces+")
        assert token == token.lower() and token.isascii()
        delivery, subscriber_id = read_return_token(SECRET.encode(), token.upper())  # survives case-folding
        assert delivery.startswith("d") and subscriber_id > 0
        local_parts.add(local)
    assert len(local_parts) == len(READERS)


def test_without_a_bounce_address_the_envelope_sender_stays(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, verp=False)
    assert {sender for sender, _ in envelopes.values()} == {"digest@localhost"}


def test_the_outbox_shows_the_return_path(project: Project) -> None:
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.write_config(delivery="  bounce_address: bounces@example.org\n")
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    assert project.run("send").code == 0
    (message,) = (project.root / "outbox" / "new").glob("*.eml")
    first = message.read_bytes().split(b"\n", 1)[0]
    assert first.startswith(b"Return-Path: <bounces+d") and first.endswith(b"@example.org>")  # (LF: a Maildir file)


def test_dsns_of_four_mail_systems_act_on_their_readers(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    ada, grace, alan, edsger = (envelopes[address] for address in READERS)
    folder = drop(
        project.root / "bounces",
        postfix_dsn(to=ada[0], recipient="ada@example.org", original=headers_of(ada, "ada@example.org")),
        exim_bounce(to=grace[0], recipient="grace@example.org", answer="550 5.2.1 Mailbox disabled for this recipient"),
        microsoft_ndr(to=alan[0], recipient="alan@example.net", original=headers_of(alan, "alan@example.net")),
        gmail_dsn(to=edsger[0], recipient="edsger@example.com", status="5.2.2", original=headers_of(edsger, "x")),
    )
    result = read(project, folder)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert statuses(project) == {
        "ada@example.org": ("bounced", 0),  # 5.1.1: no such mailbox, at once
        "grace@example.org": ("active", 0),  # another permanent failure: counted towards the limit
        "alan@example.net": ("bounced", 0),  # 5.1.10 (Microsoft's "recipient not found")
        "edsger@example.com": ("active", 0),  # mailbox full: counted
    }
    lines = sorted(result.lines[:-1])
    assert any("gone ada@example.org by token (5.1.1 smtp; 550 5.1.1" in line and line.endswith(": bounced")
               for line in lines)  # fmt: skip
    assert any("permanent grace@example.org by token" in line and line.endswith(": counted") for line in lines)
    assert any("gone alan@example.net by token (5.1.10" in line for line in lines)
    assert result.lines[-1].startswith("returned mail: 4 messages: 4 bounces (2 readers marked bounced)")
    deliveries = json.loads(project.run("deliveries", "--json").stdout)
    assert deliveries["returned"] == {"gone": 2, "permanent": 2, "temporary": 0, "complaints": 0}
    assert {item["email"] for item in deliveries["returned_mail"]} == set(READERS)


def test_a_text_bounce_saying_unknown_user_marks_the_reader_bounced(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    message = exim_bounce(to=envelopes["grace@example.org"][0], recipient="grace@example.org",
                          answer="550 Unknown user")  # fmt: skip
    (project.root / "one.eml").write_bytes(message)
    assert read(project, project.root / "one.eml").code == 0
    assert statuses(project)["grace@example.org"] == ("bounced", 0)


def test_permanent_failures_up_to_the_limit(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, bounce_limit=2)
    sender = envelopes["grace@example.org"][0]
    full = {"status": "5.2.2", "diagnostic": "smtp; 552 5.2.2 Mailbox full"}
    first = postfix_dsn(to=sender, recipient="grace@example.org", **full)
    again = postfix_dsn(to=sender, recipient="grace@example.org", **full)  # a second report of the same message
    assert read(project, drop(project.root / "one", first, again)).code == 0
    assert statuses(project)["grace@example.org"] == ("active", 0)
    # The next digest's message comes back too: the second failure reaches the limit.
    token = make_return_token(SECRET.encode(), "d2", int(sender.split("-")[1]))
    later = f"bounces+{token}@example.org"
    assert (
        read(project, drop(project.root / "two", postfix_dsn(to=later, recipient="grace@example.org", **full))).code
        == 0
    )
    assert statuses(project)["grace@example.org"] == ("bounced", 0)


def test_a_delay_is_recorded_and_changes_nothing(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, bounce_limit=1)
    timed_out = "X-Postfix; connect to mail.example.org: Connection timed out"
    delayed = postfix_dsn(to=envelopes["ada@example.org"][0], recipient="ada@example.org", action="delayed",
                          status="4.4.1", diagnostic=timed_out)  # fmt: skip
    (project.root / "delayed.eml").write_bytes(delayed)
    result = read(project, project.root / "delayed.eml")
    assert result.code == 0
    assert "temporary ada@example.org by token (4.4.1" in result.stdout
    assert statuses(project)["ada@example.org"] == ("active", 0)
    assert json.loads(project.run("deliveries", "--json").stdout)["returned"]["temporary"] == 1


def test_a_complaint_unsubscribes_for_good(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    sender, message_id = envelopes["alan@example.net"]
    redacted = original_headers(sender=sender, recipient="redacted@example.net", message_id=message_id)
    complaint = arf_complaint(to="fbl@example.org", mail_from=sender, original=redacted)
    result = read(project, "-", stdin=complaint)
    assert result.code == 0, result.stderr
    assert "complaint alan@example.net by token (abuse report from ExampleFBL/1.0): unsubscribed" in result.stdout
    assert statuses(project)["alan@example.net"] == ("unsubscribed", 0)
    deliveries = json.loads(project.run("deliveries", "--json").stdout)
    assert deliveries["returned"]["complaints"] == 1
    status = json.loads(project.run("status", "--json").stdout)
    assert status["last_digest"]["returned"]["complaints"] == 1
    assert "1 complaints" in project.run("status").stdout
    # The web form does not send a confirmation to an address that complained.
    from digest.store import open_store

    with open_store(f"sqlite:///{project.root / 'digest.db'}", now=NOW) as store:
        subscriber = store.subscribers.by_email("alan@example.net")
        assert subscriber is not None and store.returned.complained(subscriber.id)
        assert (store.returned.left_reason(subscriber.id) or "").startswith("complaint: abuse report")


def test_auto_replies_and_unrelated_mail_change_nothing(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, bounce_limit=1)
    folder = drop(
        project.root / "box",
        out_of_office(to=envelopes["ada@example.org"][0], sender="ada@example.org"),
        b"From: someone@example.com\nTo: bounces@example.org\nSubject: hello\nMessage-ID: <x1@example.com>\n\nHi!\n",
    )
    result = read(project, folder)
    assert result.code == 0 and result.stderr == ""
    assert "1 auto-replies, 1 unrelated" in result.stdout
    assert all(status == ("active", 0) for status in statuses(project).values())


def test_a_dsn_for_an_address_not_on_the_list_is_not_matched(project: Project, smtp_server: SMTPServer) -> None:
    sent(project, smtp_server)
    stranger = postfix_dsn(to="bounces@example.org", recipient="stranger@example.com")
    (project.root / "stranger.eml").write_bytes(stranger)
    result = read(project, project.root / "stranger.eml", verbose=False)
    assert result.code == ExitStatus.PARTIAL
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert (
        "gone stranger@example.com: not matched to a reader" in line and "stranger@example.com is no subscriber" in line
    )


def test_a_forged_return_token_matches_nothing(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    sender, _ = envelopes["ada@example.org"]
    forged = sender[: -len("@example.org") - 4] + ("aaaa" if not sender.endswith("aaaa@example.org") else "bbbb")
    forged += "@example.org"
    message = postfix_dsn(to=forged, recipient="ada@example.org")  # the address is ada's: still nothing
    result = read(project, "-", stdin=message)
    assert result.code == ExitStatus.PARTIAL
    assert "its return token is forged: nothing changed" in result.stderr
    assert statuses(project)["ada@example.org"] == ("active", 0)


def test_the_same_mailbox_read_twice_counts_once(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, bounce_limit=2)
    sender = envelopes["grace@example.org"][0]
    box = project.root / "returned.mbox"
    mbox = mailbox.mbox(box)
    mbox.add(postfix_dsn(to=sender, recipient="grace@example.org", status="5.2.2", diagnostic="smtp; 552 5.2.2 full"))
    mbox.add(gmail_dsn(to=envelopes["ada@example.org"][0], recipient="ada@example.org"))
    mbox.close()
    first = read(project, box)
    assert first.code == 0 and "2 messages: 2 bounces" in first.stdout
    again = read(project, box, "--json")
    assert again.code == 0
    rows = [json.loads(line) for line in again.lines]
    assert [row["effect"] for row in rows[:-1]] == ["already read", "already read"]
    assert rows[-1]["summary"]["already read"] == 2
    assert statuses(project)["grace@example.org"] == ("active", 0)
    assert json.loads(project.run("deliveries", "--json").stdout)["returned"] == {
        "gone": 1, "permanent": 1, "temporary": 0, "complaints": 0,
    }  # fmt: skip


def test_matched_by_message_id_without_a_return_token(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server, verp=False)
    _, message_id = envelopes["edsger@example.com"]
    headers = original_headers(
        sender="digest@localhost", recipient="forwarded@elsewhere.example", message_id=message_id
    )
    dsn = gmail_dsn(to="digest@localhost", recipient="forwarded@elsewhere.example", original=headers)
    result = read(project, "-", stdin=dsn)
    assert result.code == 0, result.stderr
    assert "gone edsger@example.com by message-id" in result.stdout
    assert statuses(project)["edsger@example.com"] == ("bounced", 0)


def test_matched_by_the_failed_address_as_a_last_resort(project: Project, smtp_server: SMTPServer) -> None:
    sent(project, smtp_server, verp=False)
    result = read(project, "-", stdin=exim_bounce(to="digest@localhost", recipient="ALAN@example.net",
                                                  answer="550 5.1.1 User unknown"))  # fmt: skip
    assert result.code == 0 and "gone alan@example.net by address" in result.stdout
    assert statuses(project)["alan@example.net"] == ("bounced", 0)


def test_unreadable_and_huge_messages_are_reported_and_the_rest_read(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    huge = postfix_dsn(to=envelopes["ada@example.org"][0], recipient="ada@example.org") + b"x" * (3 << 20)
    folder = drop(project.root / "box", b"\x00\xff\x00 not mail at all \x1b[31m", huge)
    result = read(project, folder)
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert "unreadable" in line and "\x1b" not in line and "\x00" not in line
    assert statuses(project)["ada@example.org"] == ("bounced", 0)


def test_bad_paths_and_a_missing_store_are_clear(project: Project, smtp_server: SMTPServer) -> None:
    sent(project, smtp_server)
    missing = read(project, project.root / "nope")
    assert missing.code == ExitStatus.USAGE and "nope does not exist" in missing.stderr
    (project.root / "plain").mkdir()
    folder = read(project, project.root / "plain")
    assert folder.code == ExitStatus.USAGE and "not a Maildir" in folder.stderr
    # From a pipe, a message that cannot be recorded is left with the mail server (EX_TEMPFAIL).
    (project.root / "a-file").write_text("")
    project.config.write_text(
        project.config.read_text(encoding="utf-8").replace("sqlite:///digest.db", "sqlite:///a-file/digest.db"),
        encoding="utf-8",
    )
    piped = read(project, "-", stdin=postfix_dsn(to="bounces@example.org", recipient="ada@example.org"))
    assert piped.code == ExitStatus.TRY_AGAIN == 75
    assert "the mail server keeps it and tries again" in piped.stderr and "Traceback" not in piped.stderr


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=60))
def test_any_token_text_is_refused_unless_signed(text: str) -> None:
    key = SECRET.encode()
    with pytest.raises(TokenError):
        read_return_token(key, text)
    good = make_return_token(key, "w20261123", 42)
    assert read_return_token(key, good) == read_return_token(key, good.upper()) == ("w20261123", 42)
    assert len(good) <= 43


def test_the_bounce_address_is_checked(project: Project) -> None:
    for value, words in (
        ("not an address", "expected a plain address"),
        ("bounces+x@example.org", "expected a plain address"),
        ("a-very-long-local-part-for-bounces@example.org", "at most 20"),
    ):
        project.write_config(delivery=f"  bounce_address: '{value}'\n")
        result = project.run("status")
        assert result.code == ExitStatus.USAGE and words in result.stderr and "delivery.bounce_address" in result.stderr


def test_a_weekly_mail_returned_is_shown_under_its_week(project: Project) -> None:
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    project.write_config(
        "schedule:\n  send: '0 7 * * *'\n  weekly: 'sun 08:30'\n  misfire_grace: 3h\n",
        delivery="  bounce_address: bounces@example.org\n",
    )
    assert project.run("subscribers", "add", "ada@example.org", "--frequency", "weekly").code == 0
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("run").code == 0, project.run("run").stderr
    (message,) = (project.root / "outbox" / "new").glob("week-*.eml")
    return_path = message.read_bytes().split(b"\n", 1)[0].decode()
    sender = return_path.removeprefix("Return-Path: <").removesuffix(">")
    assert sender.startswith("bounces+w20261122-")
    assert read(project, "-", stdin=postfix_dsn(to=sender, recipient="ada@example.org")).code == 0
    week = json.loads(project.run("deliveries", "--week", "2026-11-22", "--json").stdout)
    assert week["returned"]["gone"] == 1 and week["returned_mail"][0]["email"] == "ada@example.org"
    assert json.loads(project.run("status", "--json").stdout)["weekly"]["last_week"]["returned"]["bounces"] == 1
    assert "returned: 1 bounces" in project.run("deliveries", "--week", "2026-11-22").stdout


HOSTILE = "<script>alert(1)</script> =SUM(A1) \x00\x1b[2J\u202e" + "x" * 5000


def test_hostile_text_in_a_bounce_is_bounded_and_stripped(project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(project, smtp_server)
    message = postfix_dsn(to=envelopes["grace@example.org"][0], recipient="grace@example.org", status="5.7.1",
                          diagnostic=f"smtp; 550 5.7.1 {HOSTILE}")  # fmt: skip
    assert read(project, "-", stdin=message).code == 0
    raw = exim_bounce(to=envelopes["ada@example.org"][0], recipient="ada@example.org", answer="550 5.7.1 \xff\xfe")
    assert read(project, "-", stdin=raw.replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe\xed\xa0\x80")).code == 0
    for args in (("deliveries",), ("deliveries", "--json")):
        out = project.run(*args).stdout
        assert "\x00" not in out and "\x1b" not in out and "\u202e" not in out and len(out) < 4000
    returned = json.loads(project.run("deliveries", "--json").stdout)["returned_mail"]
    item = {entry["email"]: entry for entry in returned}["grace@example.org"]
    assert item["kind"] == "permanent" and item["detail"].startswith("5.7.1 smtp; 550 5.7.1 <script>")
    assert len(item["detail"]) <= 300


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=3000)
    | st.builds(
        lambda action, status, diagnostic, recipient: postfix_dsn(
            to="bounces@example.org", recipient=recipient, action=action, status=status, diagnostic=diagnostic
        ),
        st.sampled_from(["failed", "delayed", "relayed", "", "FAILED (permanent)"]),
        st.text(max_size=20),
        st.text(max_size=400),
        st.text(max_size=80),
    )
)
def test_any_returned_message_is_read_without_error(data: bytes) -> None:
    from digest.mail.bounces import read_returned

    found = read_returned(data)
    assert found.kind in ("gone", "permanent", "temporary", "complaint", "auto-reply", "unrelated", "unreadable")
    assert len(found.key) <= 260 and len(found.detail) <= 300
    for text in (found.key, found.detail, *found.failed, *found.return_addresses, *found.original_ids):
        assert not any(ord(char) < 32 or 0x7F <= ord(char) <= 0x9F for char in text)


@pytest.mark.postgres
def test_returned_mail_on_postgresql(pg_project: Project, smtp_server: SMTPServer) -> None:
    envelopes = sent(pg_project, smtp_server, bounce_limit=2)
    ada, grace, alan = (envelopes[address] for address in READERS[:3])
    redacted = original_headers(sender=alan[0], recipient="redacted@example.net", message_id=alan[1])
    full = {"status": "5.2.2", "diagnostic": "smtp; 552 5.2.2 Mailbox full"}
    folder = drop(
        pg_project.root / "box",
        gmail_dsn(to=ada[0], recipient="ada@example.org"),
        postfix_dsn(to=grace[0], recipient="grace@example.org", **full),
        postfix_dsn(to=grace[0], recipient="grace@example.org", **full),
        arf_complaint(to="fbl@example.org", mail_from=alan[0], original=redacted),
    )
    for _ in range(2):
        assert read(pg_project, folder).code == 0
    assert statuses(pg_project) == {
        "ada@example.org": ("bounced", 0),
        "grace@example.org": ("active", 0),
        "alan@example.net": ("unsubscribed", 0),
        "edsger@example.com": ("active", 0),
    }
    returned = json.loads(pg_project.run("deliveries", "--json").stdout)["returned"]
    assert returned == {"gone": 1, "permanent": 2, "temporary": 0, "complaints": 1}


def test_the_subscribe_form_mails_no_one_who_complained(tmp_path: Path, smtp_server: SMTPServer) -> None:
    from test_web import _subscribe, start_served

    with start_served(tmp_path, smtp_server) as served, httpx.Client() as client:
        for address in ("eve@example.org", "bob@example.org"):
            assert served.project.run("subscribers", "add", address).code == 0
        headers = original_headers(sender="digest@localhost", recipient="eve@example.org", message_id=None)
        report = arf_complaint(to="fbl@example.org", mail_from="digest@localhost", original=headers)
        report = report.replace(b"Version: 1\n", b"Version: 1\nOriginal-Rcpt-To: <eve@example.org>\n")
        assert read(served.project, "-", stdin=report).code == 0
        assert served.project.run("subscribers", "remove", "bob@example.org").code == 0  # left by hand
        for address in ("eve@example.org", "bob@example.org"):
            assert _subscribe(served, client, address).status_code == 200
        assert len(served.mails_to("bob@example.org", expect=1)) == 1  # may come back
        assert served.mails_to("eve@example.org", expect=0) == []  # reported the digest as spam: never mailed
        assert served.status_of("eve@example.org") == "unsubscribed"
