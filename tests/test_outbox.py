"""Outbox and preview files keep one line-end convention (LF, as Maildir readers expect); the wire has CRLF."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from conftest import EXAMPLE_DUMPS, SECRET, Project
from smtp_server import SMTPServer


def test_outbox_and_preview_files_end_every_line_in_lf_alone(project: Project, tmp_path: Path) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    assert project.run("subscribers", "add", "bob@example.org", "--pending").code == 0  # a confirmation mail
    assert project.run("run").code == 0
    assert project.run("preview", "--out", str(tmp_path)).code == 0
    files = [*(project.root / "outbox" / "new").glob("*.eml"), *tmp_path.glob("*.eml")]
    assert len(files) == 3
    for path in files:
        data = path.read_bytes()
        assert b"\r" not in data, path.name
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert message["Subject"] and message.get_body(("plain",)) is not None


def test_smtp_gets_crlf_line_ends(project: Project, smtp_server: SMTPServer) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    project.environ.update(DIGEST_SECRET_KEY=SECRET, DIGEST_SMTP_URL=smtp_server.url)
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    assert project.run("run").code == 0
    (received,) = smtp_server.sink.received
    data = received.data
    assert b"\n" not in data.replace(b"\r\n", b"")
