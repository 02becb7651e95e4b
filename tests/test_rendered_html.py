"""The inlined email is made once per digest and kept: senders in other processes reuse it."""

from __future__ import annotations

from digest.errors import ExitStatus
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
