"""Layout slips a new reader notices, in a real browser at 375 and 1024 px: the mail's topic contents,
the code badge on archive pages, and the way to subscribe from the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser import screenshot_dir
from conftest import EXAMPLE_DUMPS, Project

WIDTHS = [375, 1024]
#: Each contents entry's link: how many line boxes it takes (1: the label is whole on one line); and the entries
#: a line starts with a separator.
TOC_LINES = "(css) => [...document.querySelectorAll(css)].map(a => [a.textContent, a.getClientRects().length])"
SEPARATOR_FIRST = """(css) => {
  const items = [...document.querySelectorAll(css)];
  const left = items[0].getBoundingClientRect().left;
  return items.slice(1).filter((a, i) => a.getBoundingClientRect().top > items[i].getBoundingClientRect().top + 4
    && a.getBoundingClientRect().left > left + 4).map(a => a.textContent);
}"""
#: Each code badge and the link after it, on the same line: the gap between them, in pixels.
BADGE_GAPS = """() => [...document.querySelectorAll('.links a.badge')].map(badge => {
  const next = badge.nextElementSibling;
  const a = badge.getBoundingClientRect(), b = next.getBoundingClientRect();
  return Math.abs(a.top - b.top) < 4 ? b.left - a.right : null;
}).filter(gap => gap !== null)"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layout")
    project = Project(root / "project", "sqlite:///digest.db")
    project.inbox.mkdir(parents=True)
    project.write_config("web:\n  subscribe_per_ip: 20\n")
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    assert project.run("subscribers", "add", "reader@example.org").code == 0
    assert project.run("preview", "--subscriber", "reader@example.org", "--out", str(root / "preview")).code == 0
    site = project.root / "site"
    return {
        "email": root / "preview" / "digest-2026-03-12.html",
        "archive": site / "archive" / "2026-03-12.html",
        "index": site / "index.html",
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("name", "contents"), [("email", ".toc"), ("archive", "nav.topics")])
def test_topic_contents_keep_each_label_whole(
    browser: Any,
    pages: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    width: int,
    name: str,
    contents: str,
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(pages[name].as_uri())
        toc = page.locator(contents)
        toc.scroll_into_view_if_needed()
        toc.screenshot(path=str(screenshot_dir(tmp_path_factory) / f"{name}-contents-{width}.png"))
        entries = page.evaluate(TOC_LINES, f"{contents} a")
        assert len(entries) >= 3
        assert [label for label, lines in entries if lines != 1] == []
        assert toc.inner_text().count("\u00b7") == len(entries) - 1  # " · " between topics, none after the last
        assert page.evaluate(SEPARATOR_FIRST, f"{contents} a") == []  # a line never starts with " · "
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_archives_code_badge_stands_apart_from_the_next_link(
    browser: Any, pages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(pages["archive"].as_uri())
        first = page.locator(".links a.badge").first
        first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir(tmp_path_factory) / f"archive-badge-{width}.png"))
        gaps = page.evaluate(BADGE_GAPS)
        assert gaps and min(gaps) >= 6, gaps
    finally:
        page.close()


@pytest.mark.parametrize("name", ["index", "archive"])
def test_the_archive_links_the_subscribe_form_when_the_web_service_is_configured(
    browser: Any, pages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto(pages[name].as_uri())
        page.screenshot(path=str(screenshot_dir(tmp_path_factory) / f"{name}-subscribe-375.png"))
        link = page.get_by_role("link", name="Subscribe").first
        assert link.is_visible()
        assert link.get_attribute("href") == "https://digest.example.org/subscribe"
    finally:
        page.close()


def test_without_the_web_service_the_archive_offers_no_subscribe_link(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    assert project.run("run").code == 0
    for page in ("index.html", "archive/2026-03-12.html"):
        assert "/subscribe" not in (project.root / "site" / page).read_text(encoding="utf-8")
