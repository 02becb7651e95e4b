"""A real HTTP server on a free loopback port, serving listings with ETags, and slow, trickling, failing, huge and
redirecting routes."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Site:
    """What the server serves: path -> body; every request is recorded (path, headers)."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    slow_seconds: float = 3.0
    trickle_bytes: int = 120  # /trickle: a minute of one byte every half second


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        self.site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/slow":
            time.sleep(self.site.slow_seconds)
            self._send(200, b"[]")
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            try:
                for _ in range(self.site.trickle_bytes):  # one byte every half second, as long as the client reads
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("location", self.path.removeprefix("/redirect?to="))
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path == "/fail":
            self._send(503, b"down for maintenance")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            try:
                for _ in range(20_000):  # 20 MB, unless the client stops reading first
                    self.wfile.write(b"[" + b" " * 1022 + b"\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path.startswith("/no-etag/") and self.path.removeprefix("/no-etag") in self.site.bodies:
            self._send(200, self.site.bodies[self.path.removeprefix("/no-etag")])
        elif self.path in self.site.bodies:
            body = self.site.bodies[self.path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("if-none-match") == etag:
                self.send_response(304)
                self.send_header("etag", etag)
                self.end_headers()
                return
            self._send(200, body, etag=etag)
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, *, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        if etag:
            self.send_header("etag", etag)
        self.end_headers()
        self.wfile.write(body)


@dataclass
class HTTPServer:
    site: Site
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def http_server() -> Iterator[HTTPServer]:
    site = Site()
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HTTPServer(site, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
