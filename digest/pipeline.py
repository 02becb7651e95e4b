"""The one place that chains the stages: history -> digest -> archive, feeds and email."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from digest.compose import build_digest
from digest.config import Config
from digest.models import Digest, StoredPaper
from digest.parse import parse_dump
from digest.render import Renderer
from digest.site import build_site, write_site
from digest.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishResult:
    digest: Digest | None  # None: nothing new since the last digest
    written: tuple[Path, ...]  # site files whose content changed


def renderer_for(config: Config) -> Renderer:
    return Renderer(config.site, config.email, config.templates)


def pending_digest(store: Store, now: dt.datetime) -> Digest | None:
    """The digest of everything new since the last published one, not yet recorded."""
    dumps = store.digests.dumps_after(store.digests.watermark())
    if not dumps:
        return None
    papers = store.digests.papers_first_seen_in(dumps[0].id, dumps[-1].id)
    return build_digest(dumps=dumps, papers=papers, now=now, taken_slugs=store.digests.slugs())


def publish(store: Store, config: Config, *, now: dt.datetime, rebuild: bool = False) -> PublishResult:
    """Record the digest of everything new (if anything is), then write or refresh the site.

    The digest is recorded before any file is written; files are built in memory
    first, then each is replaced atomically. A crash between the two is mended by
    the next publish, which renders any digest page missing on disk.
    """
    with store.transaction(exclusive=True):
        digest = pending_digest(store, now)
        if digest is not None:
            digest = dataclasses.replace(digest, id=store.digests.record(digest))
    files = build_site(store, renderer_for(config), config.site, rebuild=rebuild)
    written = write_site(config.site.dir, files)
    if digest is not None:
        log.debug("published digest %s: %d new papers", digest.slug, digest.new_count)
    return PublishResult(digest=digest, written=tuple(written))


def digest_of_dump(path: Path, *, config: Config, now: dt.datetime) -> Digest:
    """A stand-alone digest of one dump file, every paper treated as new (for previews)."""
    today = now.astimezone(config.timezone).date()
    dump = parse_dump(path.read_bytes(), today=today)
    day = dump.listed_on or today
    papers = tuple(
        StoredPaper(
            id=paper.rank,
            title=paper.title,
            abstract=paper.abstract,
            links=paper.links,
            first_dump_id=0,
            first_rank=paper.rank,
            first_seen_on=day,
            first_seen_at=now,
        )
        for paper in dump.papers
    )
    return Digest(
        slug=day.isoformat(),
        date=day,
        papers=papers,
        seen_before=0,
        dump_dates=(day,),
        first_dump_id=0,
        last_dump_id=0,
        published_at=now,
    )
