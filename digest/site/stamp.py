"""Whether the site folder is as a publish would write it now, without rendering it: its stamp.

Every time the site is written, a stamp (``.digest-site``, beside the pages) records what it was built
from: the published digests and weeks, the newest dump (a later listing may lend papers an arXiv id or
authors), the site's settings and every template file (name, size and time). A run with nothing new
compares the stamp with the same things now, and checks that every page is on disk: when nothing
differs, the site is left alone and no template engine is even loaded. When anything differs (a new
template, a changed setting, a page deleted, a write interrupted before the stamp), the site is written
again as every publish writes it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from digest import __version__
from digest.config import Config
from digest.files import write_atomic
from digest.store import Store
from digest.weekly import week_slug

STAMP_FILE = ".digest-site"
#: The templates bundled with digest (the renderer's last folder to look in).
BUNDLED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
#: Files every site has besides its digests' and weeks' pages.
ALWAYS = ("index.html", "feed.xml", "atom.xml", ".digest-store")


def page_path(slug: str) -> str:
    """Where a digest's (or a week's) archive page is, relative to the site folder."""
    return f"archive/{slug}.html"


def stamp_site(store: Store, config: Config) -> None:
    """Record that the site folder was just written from the store and templates as they are now."""
    write_atomic(config.site.dir / STAMP_FILE, (_state(store, config)[0] + "\n").encode("ascii"))


def site_is_current(store: Store, config: Config) -> bool:
    """Whether writing the site now would change nothing: same stamp, and every page on disk."""
    try:
        stamped = (config.site.dir / STAMP_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    state, pages = _state(store, config)
    return stamped == state and all((config.site.dir / page).is_file() for page in pages)


def _state(store: Store, config: Config) -> tuple[str, list[str]]:
    """A digest of everything the site is built from, and the pages it holds."""
    digests = store.digests.published()
    weeks = store.weeks.all()
    pages = [*ALWAYS, *(page_path(record.slug) for record in digests)]
    pages += [page_path(week_slug(week.week)) for week in weeks]
    parts = [
        f"digest {__version__}",
        f"site {config.site.url} {config.site.title}",  # (not its folder: a site moved with its stamp is as it was)
        str(config.templates),
        f"dumps {store.digests.last_dump_id()}",
        *(f"digest {r.id} {r.slug} {r.paper_count} {r.seen_before} {r.published_at.isoformat()}" for r in digests),
        *(f"week {w.week} {w.first_digest_id} {w.last_digest_id} {w.due_at.isoformat()}" for w in weeks),
        *_template_files(config.templates),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest(), pages


def _template_files(user_templates: Path | None) -> Iterator[str]:
    for folder in (*([user_templates] if user_templates else []), BUNDLED_TEMPLATES):
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            yield f"{folder}: missing"
            continue
        for entry in entries:
            if entry.is_file():
                info = entry.stat()
                yield f"{folder}/{entry.name} {info.st_size} {info.st_mtime_ns}"
