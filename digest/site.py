"""The static web archive and the feeds: built in memory, then written.

``site.dir`` holds ``index.html``, ``archive/<slug>.html`` (one page per
digest), ``feed.xml`` (RSS 2.0) and ``atom.xml``. Every file is replaced
atomically, and only when its content changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from digest.config import SiteConfig
from digest.errors import StoreError
from digest.feed import FEED_ITEMS, build_feeds
from digest.files import write_if_changed
from digest.render import IndexEntry, Renderer, archive_url
from digest.store import Store

#: A file in the site folder naming the history it was published from.
IDENTITY_FILE = ".digest-store"


class SiteMismatch(StoreError):
    """The site folder was published from a history the store is not."""

    hint = ""


def check_site(store: Store, site_dir: Path) -> None:
    """Refuse to go on when ``site_dir`` was published from another (lost or replaced) history.

    A database that was deleted or moved is recreated empty on the next run, which
    would re-ingest the inbox, republish it as one "new" digest over the archive and
    forget every subscriber. The site folder remembers which history it belongs to.
    """
    marker = site_dir / IDENTITY_FILE
    try:
        recorded = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        recorded = None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteMismatch(f"cannot read {marker}: {exc}") from None
    if recorded is not None and recorded != store.identity():
        raise _mismatch(site_dir, f"was published from another history database (its {IDENTITY_FILE} says {recorded})")
    if recorded is None and not store.digests.published() and any((site_dir / "archive").glob("*.html")):
        raise _mismatch(site_dir, "holds digests this history database does not know")


def _mismatch(site_dir: Path, problem: str) -> SiteMismatch:
    return SiteMismatch(
        f"the site folder {site_dir} {problem}: the database was deleted, moved or replaced",
        hint=f"restore the database, or start over on purpose by moving {site_dir} away and running again",
    )


def page_path(slug: str) -> str:
    return f"archive/{slug}.html"


def build_site(store: Store, renderer: Renderer, site: SiteConfig, *, rebuild: bool = False) -> dict[str, bytes]:
    """Every file of the site that needs writing, by path relative to ``site.dir``.

    Digest pages are rendered when missing on disk (or all of them with
    ``rebuild``); the index and the feeds always.
    """
    records = store.digests.published()
    files: dict[str, bytes] = {}
    for record in records:
        path = page_path(record.slug)
        if rebuild or not (site.dir / path).exists():
            digest = store.digests.get(record.id)
            if digest is not None:
                files[path] = renderer.digest_page(digest).encode("utf-8")
    entries = [
        IndexEntry(slug=r.slug, date=r.date, count=r.paper_count, url=archive_url(site, r.slug)) for r in records
    ]
    files["index.html"] = renderer.index_page(entries).encode("utf-8")
    feeds = build_feeds(store.digests.feed_items(FEED_ITEMS), site)
    files["feed.xml"] = feeds.rss
    files["atom.xml"] = feeds.atom
    files[IDENTITY_FILE] = (store.identity() + "\n").encode("ascii")
    return files


def write_site(root: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write the files under ``root``; return those whose content changed."""
    written = []
    for relative, content in sorted(files.items()):
        path = root / relative
        if write_if_changed(path, content):
            written.append(path)
    return written
