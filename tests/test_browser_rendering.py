"""The email and the archive in a real browser, at phone and desktop widths, light and dark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from browser import OVERFLOW_SCRIPT, screenshot_dir
from conftest import EXAMPLE_DUMPS, NOW, Project

WIDTHS = [375, 1024]
SCHEMES = ["light", "dark"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A personal mail of the largest example dump, and the archive after publishing all three."""
    root = tmp_path_factory.mktemp("browser")
    project = Project(root / "project", "sqlite:///digest.db")
    project.inbox.mkdir(parents=True)
    project.write_config()
    preview = root / "preview"
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    assert project.run("subscribers", "add", "reader@example.org", "--interests", "retrieval, speech").code == 0
    liked = "Dense X Retrieval: What Retrieval Granularity Should We Use?"
    assert project.run("subscribers", "like", "reader@example.org", liked).code == 0
    out = ["--out", str(preview)]
    assert project.run("preview", "--subscriber", "reader@example.org", *out).code == 0
    for index, path in enumerate(EXAMPLE_DUMPS):
        project.run("ingest", str(path), now=NOW + dt.timedelta(days=index))
        project.run("publish", now=NOW + dt.timedelta(days=index))
    # A weekly reader's mail: the week's digests as one, ranked for them; then the week's page.
    weekly = ("weekly@example.org", "--frequency", "weekly", "--interests", "reinforcement learning, agents")
    assert project.run("subscribers", "add", *weekly).code == 0
    later = NOW + dt.timedelta(days=2)
    assert project.run("preview", "--subscriber", "weekly@example.org", *out, now=later).code == 0
    assert project.run("run", now=dt.datetime(2026, 11, 30, 7, 5, tzinfo=dt.UTC)).code == 0
    site = project.root / "site"
    return {
        "email": preview / "digest-2026-03-12.html",
        "weekly-email": preview / "digest-week-2026-11-30.html",
        "archive": site / "archive" / "2026-03-12.html",
        "week": site / "archive" / "week-2026-11-30.html",
        "index": site / "index.html",
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page_name", ["email", "weekly-email", "archive", "week", "index"])
def test_pages_render_within_the_viewport(
    browser: Any,
    rendered: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    page_name: str,
    width: int,
    scheme: str,
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    try:
        page.goto(rendered[page_name].as_uri())
        assert page.title()
        assert page.evaluate(OVERFLOW_SCRIPT) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shots = screenshot_dir(tmp_path_factory)
        page.screenshot(path=str(shots / f"{page_name}-{width}-{scheme}.png"), full_page=True)
        if page_name == "email":
            # For you first, then every other paper by topic; the unsubscribe link is visible near the top.
            assert page.locator(".paper-title").count() == 10
            assert page.locator(".line").count() == 79
            assert page.get_by_text("For you").is_visible()
            assert page.get_by_role("link", name="More like this").first.is_visible()
            unsubscribe = page.get_by_role("link", name="Unsubscribe").first
            assert unsubscribe.is_visible()
            assert unsubscribe.bounding_box()["y"] < 100
        if page_name == "weekly-email":  # two days of the week so far (74 papers): For you holds 20
            assert page.get_by_role("heading", name="The week to Monday, 30 November 2026").is_visible()
            assert page.locator(".paper-title").count() == 20
            assert page.locator(".paper-title").count() + page.locator(".line").count() == 74
    finally:
        page.close()
