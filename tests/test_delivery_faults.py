"""Whose fault a failed delivery is: a real SMTP server that refuses the sender, the message, or goes quiet."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from test_deliver import READERS, deliveries, ready

from digest.errors import ExitStatus
from digest.mail.smtp import SMTPTransport
from digest.store import open_store

from conftest import EXAMPLE_DUMPS, NOW, Project
from smtp_server import SMTPServer, TLSServers


def subscribers(project: Project) -> dict[str, tuple[str, int]]:
    """Address -> (status, bounces), straight from the database."""
    with open_store(project.database, now=NOW) as store:
        rows = store.db.execute("SELECT email, status, bounces FROM subscribers")
    return {str(email): (str(status), int(bounces)) for email, status, bounces in rows}


@pytest.fixture
def sqlite_project(project: Project) -> Project:
    """The project, with its database URL absolute so that the tests can open it too."""
    project.database = f"sqlite:///{project.root / 'digest.db'}"
    return project


def test_a_refused_sender_bounces_nobody(sqlite_project: Project, smtp_server: SMTPServer) -> None:
    project = sqlite_project
    ready(project, smtp_server, delivery="  bounce_limit: 1\n")
    smtp_server.sink.mail_answer = "550 5.7.1 Relaying denied: SPF check failed"
    for day in range(3):  # three days of the same misconfigured relay
        result = project.run("send", now=NOW + dt.timedelta(days=day))
        assert result.code == ExitStatus.PARTIAL
        (line,) = result.stderr.splitlines()
        assert "stopped sending: the server refused the sender <digest@localhost>: 550 5.7.1 Relaying denied" in line
        assert line.endswith("3 deliveries stay queued for a later run")
    assert subscribers(project) == {address: ("active", 0) for address in READERS}
    assert deliveries(project)["queued"] == 3
    smtp_server.sink.mail_answer = None  # the relay is fixed: everyone gets the digest
    assert project.run("send", now=NOW + dt.timedelta(days=3)).code == ExitStatus.OK
    assert sorted(smtp_server.sink.by_recipient()) == sorted(READERS)


def test_a_rejected_message_is_the_servers_problem(sqlite_project: Project, smtp_server: SMTPServer) -> None:
    project = sqlite_project
    ready(project, smtp_server, delivery="  bounce_limit: 1\n")
    smtp_server.sink.data_answer = "554 5.6.0 Message content rejected"
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert "the server did not take the message: 554 5.6.0 Message content rejected" in line
    assert subscribers(project) == {address: ("active", 0) for address in READERS}
    assert deliveries(project)["queued"] == 3 and deliveries(project)["failed"] == 0


def test_a_delivery_resets_the_bounce_count(sqlite_project: Project, smtp_server: SMTPServer) -> None:
    project = sqlite_project
    ready(project, smtp_server, delivery="  bounce_limit: 3\n")
    smtp_server.sink.fail("ada@example.org", "550")
    assert project.run("send").code == ExitStatus.PARTIAL
    assert subscribers(project)["ada@example.org"] == ("active", 1)
    assert project.run("ingest", str(EXAMPLE_DUMPS[1])).code == ExitStatus.OK
    assert project.run("publish").code == ExitStatus.OK
    assert project.run("send").code == ExitStatus.OK
    assert subscribers(project)["ada@example.org"] == ("active", 0)


def test_every_data_451_trips_the_breaker(sqlite_project: Project, smtp_server: SMTPServer) -> None:
    project = sqlite_project
    ready(project, smtp_server, delivery="  retries: 2\n  connections: 1\n")
    for number in range(20):
        assert project.run("subscribers", "add", f"reader{number}@example.org").code == 0
    smtp_server.sink.data_answer = "451 4.3.0 Temporary server error"
    started = time.monotonic()
    result = project.run("send")
    assert time.monotonic() - started < 20
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()  # said once, not once per recipient
    assert "stopped sending: the server did not take the message: 451 4.3.0" in line
    assert line.endswith("23 deliveries stay queued for a later run")
    assert deliveries(project)["queued"] == 23


def test_an_outbox_that_cannot_be_written_trips_the_breaker(sqlite_project: Project) -> None:
    project = sqlite_project
    ready(project, None)
    for subscriber_id in (1, 2, 3):  # a directory where each message's file should go
        (project.root / "outbox" / "new" / f"digest-1-{subscriber_id}.eml").mkdir(parents=True)
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert "stopped sending: cannot write to the outbox" in line and "3 deliveries stay queued" in line


def test_a_slow_answer_after_the_message_is_waited_for(sqlite_project: Project, smtp_server: SMTPServer) -> None:
    """The reply to the final "." gets data_timeout, not the command timeout (RFC 5321 4.5.3.2)."""
    project = sqlite_project
    ready(project, smtp_server, delivery="  timeout: 1s\n  data_timeout: 10s\n  connections: 3\n")
    smtp_server.sink.answer_after = 1.5
    result = project.run("send")
    assert (result.code, result.stderr) == (ExitStatus.OK, "")
    assert len(smtp_server.sink.received) == 3 and deliveries(project)["sent"] == 3


def test_no_answer_after_the_message_is_recorded_as_uncertain_and_not_resent(
    sqlite_project: Project, smtp_server: SMTPServer
) -> None:
    project = sqlite_project
    ready(project, smtp_server, delivery="  timeout: 1s\n  data_timeout: 1s\n  connections: 1\n  retries: 3\n")
    smtp_server.sink.answer_after = 3
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    assert "no answer from 127.0.0.1" in result.stderr and "within 1 s after the message was sent" in result.stderr
    assert "it may have been delivered, so it is not sent again" in result.stderr
    state = deliveries(project)
    assert state["uncertain"] >= 1 and state["queued"] + state["sent"] == 3
    smtp_server.sink.answer_after = 0
    time.sleep(2.5)  # let the server finish the answers nobody waited for
    before = len(smtp_server.sink.received)
    assert project.run("send", now=NOW + dt.timedelta(minutes=11)).code in (ExitStatus.OK, ExitStatus.PARTIAL)
    # Nothing recorded as uncertain went out again.
    assert len(smtp_server.sink.received) - before == 3 - state["uncertain"]


def test_a_hang_is_called_a_hang(sqlite_project: Project) -> None:
    """A server that accepts the connection and never speaks: "no answer within", not "closed"."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(10)
    try:
        project = sqlite_project
        project.environ["DIGEST_SMTP_URL"] = f"smtp://127.0.0.1:{listener.getsockname()[1]}"
        ready(project, None, delivery="  timeout: 1s\n  retries: 1\n")
        result = project.run("send")
        assert result.code == ExitStatus.PARTIAL
        (line,) = result.stderr.splitlines()
        assert "no answer from 127.0.0.1" in line and "within 1 s" in line and "closed" not in line
    finally:
        listener.close()


@pytest.mark.postgres
def test_a_database_that_goes_away_stops_the_sending(
    tmp_path: Path, postgres_url: str, smtp_server: SMTPServer
) -> None:
    """No message starts once a result cannot be recorded: only those in flight may be sent twice."""
    import psycopg

    from conftest import POSTGRES_URL

    name = f"digest_victim_{uuid.uuid4().hex[:8]}"
    project = Project(tmp_path / "project", f"{postgres_url}&application_name={name}")
    project.inbox.mkdir(parents=True)
    connections = 2
    ready(project, smtp_server, delivery=f"  connections: {connections}\n")
    for number in range(40):
        assert project.run("subscribers", "add", f"reader{number}@example.org").code == 0
    killed = threading.Event()

    def kill_the_database_connection(taken: int) -> None:
        if taken == 8 and not killed.is_set():
            killed.set()
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,)
                )

    smtp_server.sink.on_message = kill_the_database_connection
    smtp_server.sink.delay = 0.02
    result = project.run("send")
    assert result.code == ExitStatus.FAILURE
    (line,) = result.stderr.splitlines()
    assert "database" in line and "Traceback" not in line
    taken_at_failure = len(smtp_server.sink.received)
    assert taken_at_failure <= 8 + connections + 1  # nothing new started after the failure
    smtp_server.sink.on_message = None
    # A later run (once the dead worker's claims are stale) sends the rest; only messages in flight came twice.
    assert project.run("send", now=NOW + dt.timedelta(minutes=11)).code == ExitStatus.OK
    got = smtp_server.sink.by_recipient()
    assert len(got) == 43
    assert sum(len(items) - 1 for items in got.values()) <= connections + 1


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_with_a_trusted_authority(sqlite_project: Project, tls_smtp_servers: TLSServers, scheme: str) -> None:
    project = sqlite_project
    port = tls_smtp_servers.starttls_port if scheme == "smtp+starttls" else tls_smtp_servers.smtps_port
    project.environ["DIGEST_SMTP_URL"] = f"{scheme}://127.0.0.1:{port}?cafile={tls_smtp_servers.ca_file}"
    ready(project, None)
    result = project.run("send")
    assert (result.code, result.stderr) == (ExitStatus.OK, "")
    assert sorted(tls_smtp_servers.sink.by_recipient()) == sorted(READERS)


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_a_certificate_that_does_not_verify_is_refused(
    sqlite_project: Project, tls_smtp_servers: TLSServers, scheme: str
) -> None:
    project = sqlite_project
    port = tls_smtp_servers.starttls_port if scheme == "smtp+starttls" else tls_smtp_servers.smtps_port
    project.environ["DIGEST_SMTP_URL"] = f"{scheme}://127.0.0.1:{port}"
    ready(project, None)
    result = project.run("send")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert "the certificate of 127.0.0.1:" in line and "does not verify" in line and "cafile" in line
    assert tls_smtp_servers.sink.received == []
    assert subscribers(project) == {address: ("active", 0) for address in READERS}
    # Explicitly accepting any certificate (a test relay on one's own network) sends.
    project.environ["DIGEST_SMTP_URL"] += "?verify=off"
    assert project.run("send").code == ExitStatus.OK
    assert len(tls_smtp_servers.sink.received) == 3


def test_tls_options_are_checked_with_the_variable_named(sqlite_project: Project) -> None:
    project = sqlite_project
    project.environ["DIGEST_SMTP_URL"] = "smtps://127.0.0.1:465?cafile=/nonexistent/ca.pem"
    result = project.run("status")
    assert result.code == ExitStatus.USAGE
    assert "DIGEST_SMTP_URL: cafile '/nonexistent/ca.pem' is not a readable file" in result.stderr
    project.environ["DIGEST_SMTP_URL"] = "smtps://127.0.0.1:465?verfy=off"
    assert "unknown option 'verfy'" in project.run("status").stderr


@pytest.mark.parametrize("form", ["bytes", "view", "taken in part"])
def test_a_large_message_reaches_the_server_whole(
    smtp_server: SMTPServer, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message is written with its final "." beside it, not joined to it; when the socket takes only part
    (its buffer full), the rest follows. Sent as bytes or as it lies in the sending process's shared ring (a
    view), it arrives byte for byte."""
    if form == "taken in part":
        write = socket.socket.sendmsg

        def some(sock: socket.socket, buffers: list[bytes], *args: object) -> int:
            return write(sock, [bytes(memoryview(buffers[0])[:1000])])  # (as a full buffer would)

        monkeypatch.setattr(socket.socket, "sendmsg", some)
    transport = SMTPTransport(smtp_server.url, sender="digest@example.org", timeout=10, rate=0)
    body = b"".join(b"line %07d %s\n" % (number, b"x" * 60) for number in range(50_000))  # (3.5 MB)
    data = transport.wire_format(b"Subject: large\n\n" + body)
    transport.send("reader@example.org", data if form == "bytes" else memoryview(data), key="large")
    transport.close()
    (received,) = smtp_server.sink.received
    assert received.data == data and received.rcpt_tos == ["reader@example.org"]
