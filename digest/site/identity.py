"""Which history a site folder was published from: a lost or replaced database is refused, not recreated."""

from __future__ import annotations

from pathlib import Path

from digest.errors import StoreError
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
