"""The email is rendered and inlined once per digest and kept: senders in other processes reuse its blocks."""

from __future__ import annotations

from typing import Any

import pytest

from digest.errors import ExitStatus
from digest.ranking.grouping import topics_of
from digest.site import render

from conftest import EXAMPLE_DUMPS, SECRET, Project


def test_a_send_after_publishing_inlines_nothing_again(project: Project) -> None:
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == ExitStatus.OK
    before = render.premailer_calls
    assert project.run("publish").code == ExitStatus.OK
    assert render.premailer_calls - before == 1  # the new digest's email, inlined once at publish
    for address in ("ada@example.org", "grace@example.org"):
        project.run("subscribers", "add", address)
    after_publish = render.premailer_calls
    assert project.run("send").code == ExitStatus.OK
    assert project.run("preview", "--out", str(project.root / "preview")).code == ExitStatus.OK
    assert render.premailer_calls == after_publish  # the kept HTML was used
    sent = sorted((project.root / "outbox" / "new").glob("*.eml"))
    assert len(sent) == 2 and b"Making the Most of your Model" in sent[0].read_bytes()


def test_kept_html_is_the_html_a_fresh_render_makes(project: Project) -> None:
    import datetime as dt

    from digest.config import load_config
    from digest.mail.blocks import render_email
    from digest.pipeline import renderer_for
    from digest.ranking.topics import digest_topics
    from digest.store import open_store

    from conftest import NOW

    assert project.run("ingest", str(EXAMPLE_DUMPS[1])).code == ExitStatus.OK
    assert project.run("publish").code == ExitStatus.OK
    config = load_config(project.config, {})
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
        assert digest is not None
        topics = digest_topics(digest.papers)
        kept = render_email(digest, renderer_for(config, store=store, now=NOW + dt.timedelta(hours=1)), topics)
    fresh = render_email(digest, renderer_for(config), topics)
    assert kept == fresh


def test_a_send_after_publishing_renders_no_block_and_a_changed_template_is_rendered_again(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from digest.mail import kept_email

    project.environ["DIGEST_SECRET_KEY"] = SECRET
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == ExitStatus.OK
    assert project.run("publish").code == ExitStatus.OK
    for address in ("ada@example.org", "grace@example.org"):
        project.run("subscribers", "add", address)
    rendered: list[str] = []
    render_email = kept_email.render_email

    def counting(digest: Any, renderer: Any, topics: Any) -> Any:
        rendered.append(digest.slug)
        return render_email(digest, renderer, topics)

    monkeypatch.setattr(kept_email, "render_email", counting)
    assert project.run("send").code == ExitStatus.OK
    assert rendered == []  # the blocks kept at publish
    outbox = project.root / "outbox" / "new"
    sent = sorted(outbox.glob("*.eml"))
    assert len(sent) == 2 and b"Making the Most of your Model" in sent[0].read_bytes()

    templates = project.root / "my-templates"
    templates.mkdir()
    text = (Path(__file__).parent.parent / "templates" / "email.txt.j2").read_text(encoding="utf-8")
    (templates / "email.txt.j2").write_text("A line of my own\n" + text, encoding="utf-8")
    project.write_config("templates: my-templates\n")
    for path in sent:
        path.unlink()
    project.run("subscribers", "add", "linus@example.org")
    assert project.run("send").code == ExitStatus.OK
    assert len(rendered) == 1  # a template changed: rendered again (and kept)
    mail = next(outbox.glob("*.eml")).read_bytes()
    assert b"A line of my own" in mail
    project.run("subscribers", "add", "barbara@example.org")
    assert project.run("send").code == ExitStatus.OK
    assert len(rendered) == 1


@pytest.mark.parametrize("wire", ["smtp", "outbox"])
def test_kept_blocks_read_back_are_the_blocks_a_fresh_render_makes(project: Project, wire: str) -> None:
    from digest.config import load_config
    from digest.mail.blocks import in_wire_format, render_email
    from digest.mail.kept_email import from_text, to_text
    from digest.mail.outbox import local_line_ends
    from digest.mail.smtp import SMTPTransport
    from digest.pipeline import renderer_for
    from digest.store import open_store

    from conftest import NOW

    assert project.run("ingest", str(EXAMPLE_DUMPS[1])).code == ExitStatus.OK
    assert project.run("publish").code == ExitStatus.OK
    config = load_config(project.config, {})
    smtp = SMTPTransport("smtp://localhost", sender="a@example.org", timeout=1, rate=0).wire_format
    form = smtp if wire == "smtp" else local_line_ends
    with open_store(config.database, now=NOW) as store:
        digest = store.digests.get()
        assert digest is not None
        topics = topics_of(store, digest)
    fresh = render_email(digest, renderer_for(config), topics, wire_format=form)
    kept = from_text(to_text(render_email(digest, renderer_for(config), topics)))
    assert kept is not None and in_wire_format(kept, form) == fresh
    assert from_text("not what was kept") is None
