"""The archive and the feeds: files of site.dir, cached in memory, with ETag, Last-Modified and gzip."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.web.context import WebContext, in_thread
from digest.web.security import SECURITY_HEADERS

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
FEED_TYPES = {"feed.xml": "application/rss+xml; charset=utf-8", "atom.xml": "application/atom+xml; charset=utf-8"}
HOT_PATHS = ("/", "/index.html", "/feed.xml", "/atom.xml")


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # the body compressed, when that is worth it
    etag: str
    last_modified: str
    modified: dt.datetime
    content_type: str


class SiteFiles:
    """Files of site.dir, cached in memory by (path, mtime, size) so a busy feed costs no disk reads."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.cache: dict[Path, tuple[tuple[int, int], StaticFile]] = {}
        self.paths: set[str] = set()  # request paths known to name a cached file
        self.lock = threading.Lock()
        self.loading = threading.Lock()

    def _path(self, relative: str) -> Path | None:
        if "\x00" in relative:  # no file has a NUL in its name; resolve() would raise
            return None
        if relative in ("", "/") or relative.endswith("/"):
            relative += "index.html"
        path = (self.root / relative.lstrip("/")).resolve()
        if self.root not in path.parents or any(part.startswith(".") for part in path.relative_to(self.root).parts):
            return None
        return path

    def cached(self, relative: str) -> StaticFile | None:
        """The cached file when it is still current on disk; None when it must be (re)read."""
        path = self._path(relative) if relative in self.paths else None
        if path is None:
            return None
        with self.lock:
            cached = self.cache.get(path)
        if cached is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        return cached[1] if cached[0] == (info.st_mtime_ns, info.st_size) else None

    def get(self, relative: str) -> StaticFile | None:
        with self.loading:  # one reader at a time: a burst of misses reads and compresses a file once
            fresh = self.cached(relative)
            return fresh if fresh is not None else self._load(relative)

    def _load(self, relative: str) -> StaticFile | None:
        path = self._path(relative)
        if path is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        with self.lock:
            cached = self.cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = path.read_bytes()
        modified = dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC).replace(microsecond=0)
        compressible = path.suffix in (".html", ".xml", ".css", ".svg", ".txt") and len(body) > 1024
        item = StaticFile(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0) if compressible else None,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=formatdate(modified.timestamp(), usegmt=True),
            modified=modified,
            content_type=FEED_TYPES.get(path.name) or CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        )
        with self.lock:
            self.cache[path] = (stamp, item)
            self.paths.add(relative)
        return item


def not_modified(request: Request, item: StaticFile) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/").replace('-gz"', '"') for tag in match.split(",")}
        return item.etag in tags or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return item.modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class SitePages:
    """``GET`` and ``HEAD`` of every file of site.dir; HEAD answers carry the real length, without the body."""

    def __init__(self, web: WebContext) -> None:
        self.web = web
        self.files = SiteFiles(web.config.site.dir)

    def routes(self) -> list[Route]:
        for hot in HOT_PATHS:
            self.files.get(hot)  # warm the cache before the first reader arrives
        return [Route("/{path:path}", self.site, methods=["GET", "HEAD"])]

    async def site(self, request: Request) -> Response:

        # A cached file costs one stat(); only a changed one is read, in a worker thread.
        item = self.files.cached(request.url.path)
        if item is None:
            item = await in_thread(self.files.get, request.url.path)
        if item is None:
            return self.web.page("message.html.j2", status=404, title="Not found", text="There is no page here.")
        gzipped = item.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "")
        headers = {
            **SECURITY_HEADERS,
            "etag": item.etag[:-1] + '-gz"' if gzipped else item.etag,
            "last-modified": item.last_modified,
            "cache-control": "public, max-age=300",
            "vary": "Accept-Encoding",
        }
        if not_modified(request, item):
            return Response(status_code=304, headers=headers)
        body = item.gzipped if gzipped and item.gzipped is not None else item.body
        if gzipped:
            headers["content-encoding"] = "gzip"
        # The server sends no body in answer to HEAD, but keeps the Content-Length of this one.
        return Response(body, headers=headers, media_type=item.content_type)
