"""A preview is the mail a reader would get: its counts agree, and its links work when they can."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web import Served, start_served

from conftest import EXAMPLE_DUMPS, Project
from smtp_server import SMTPServer


@pytest.fixture
def served(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Served]:
    with start_served(tmp_path, smtp_server) as running:
        yield running


def test_a_subscribers_preview_links_work_and_say_so(served: Served, tmp_path: Path) -> None:
    run = served.project.run
    assert run("subscribers", "add", "ada@example.org").code == 0
    result = run("preview", "--subscriber", "ada@example.org", "--out", str(tmp_path / "ada"))
    assert result.code == 0, result.stderr
    assert "links:   ada@example.org's own: they work" in result.stdout
    html = next((tmp_path / "ada").glob("*.html")).read_text(encoding="utf-8")
    (preferences,) = set(re.findall(r'href="(http[^"]+/preferences/[^"]+)"', html))
    votes = re.findall(r'href="(http[^"]+/vote/[^"]+/more)"', html)
    assert httpx.get(preferences).status_code == 200
    assert httpx.get(votes[0]).status_code == 200
    anonymous = run("preview", "--out", str(tmp_path / "anyone"))
    assert "links:   placeholders that answer 400 (no real reader)" in anonymous.stdout
    html = next((tmp_path / "anyone").glob("*.html")).read_text(encoding="utf-8")
    (preferences,) = set(re.findall(r'href="(http[^"]+/preferences/[^"]+)"', html))
    assert httpx.get(preferences).status_code == 400


def test_a_preview_without_a_key_says_its_links_are_placeholders(project: Project, tmp_path: Path) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("ingest").code == 0
    assert project.run("subscribers", "add", "ada@example.org").code == 0
    result = project.run("preview", "--subscriber", "ada@example.org", "--out", str(tmp_path))
    assert result.code == 0
    assert "links:   placeholders that answer 400: there is no signing key yet" in result.stdout
    assert not (project.root / "digest.db.key").exists()  # a preview makes no key


def counts_of(message: email.message.EmailMessage) -> tuple[str, str, str]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert isinstance(html, email.message.EmailMessage) and isinstance(text, email.message.EmailMessage)
    headline = re.search(r'class="counts"[^>]*>([^<&]+)', html.get_content())
    assert headline
    return str(message["Subject"]), headline.group(1).strip(), text.get_content().splitlines()[2]


def test_a_filtered_readers_subject_headline_and_preview_agree(project: Project, tmp_path: Path) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    run = project.run
    assert run("subscribers", "add", "ada@example.org", "--include", "robot, video").code == 0
    assert run("subscribers", "add", "bob@example.org").code == 0
    assert run("run").code == 0
    mails = {}
    for path in (project.root / "outbox" / "new").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        mails[str(message["To"])] = counts_of(message)
    subject, headline, text = mails["ada@example.org"]
    count = int(subject.split()[0])
    assert 0 < count < 89
    assert headline.startswith(f"{count} new papers (your filter leaves out {89 - count})")
    assert text.startswith(f"{count} new papers (your filter leaves out {89 - count})")
    assert mails["bob@example.org"][0].startswith("89 new papers") and mails["bob@example.org"][1] == "89 new papers"
    preview = run("preview", "--subscriber", "ada@example.org", "--out", str(tmp_path))
    assert f"subject: {subject}" in preview.stdout
