"""The web service under load: the feed and the one-click unsubscribe endpoint.

Starts ``digest serve`` on a loopback port (the example dumps published, one
subscriber), then loads it from a second process with wrk (Debian's package)
for the given time at 100 concurrent connections, and reports requests per
second, p99 latency and errors. Target for the feed: no errors, p99 <= 50 ms.

    python bench/serve.py [--seconds 30] [--connections 100]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digest.config import load_config
from digest.store import open_store
from digest.tokens import make_token, secret_key

from _common import free_port, publish_examples, serving

SECRET = "benchmark-secret-key-0123456789abcdefghij"
POST_SCRIPT = """wrk.method = "POST"
wrk.body = "List-Unsubscribe=One-Click"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def prepare(folder: Path, port: int) -> str:
    """A published project; returns one subscriber's unsubscribe path."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    config = load_config(publish_examples(folder, port, now), {})
    with open_store(config.database, now=now) as store:
        subscriber, _ = store.subscribers.add("reader@example.org", status="active", now=now)
    return f"/unsubscribe/{make_token(secret_key(value=SECRET), 'unsubscribe', subscriber.id, subscriber.email)}"


def wrk(url: str, *, seconds: int, connections: int, script: Path | None = None, gzip: bool = False) -> dict[str, str]:
    args = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "5s"]
    if gzip:
        args += ["-H", "Accept-Encoding: gzip"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    found = {
        "rps": re.search(r"Requests/sec:\s+([\d.]+)", out),
        "p50": re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE),
        "p99": re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE),
        "requests": re.search(r"(\d+) requests in", out),
    }
    errors = re.search(r"Socket errors: (.*)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result = {key: (match.group(1) if match else "?") for key, match in found.items()}
    result["errors"] = (
        ", ".join(filter(None, [errors.group(1) if errors else "", f"{non_2xx.group(1)} non-2xx" if non_2xx else ""]))
        or "none"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="digest-serve-bench-"))
    port = free_port()
    unsubscribe = prepare(work, port)
    script = work / "post.lua"
    script.write_text(POST_SCRIPT)
    with serving(work, port, SECRET) as base:
        feed_size = len(subprocess.run(["curl", "-s", f"{base}/feed.xml"], capture_output=True).stdout)
        for label, url, lua, gzip in (
            (
                f"GET /feed.xml, gzip as feed readers ask ({feed_size / 1000:.0f} KB plain)",
                f"{base}/feed.xml",
                None,
                True,
            ),
            ("GET /feed.xml, uncompressed", f"{base}/feed.xml", None, False),
            ("POST /unsubscribe/TOKEN (one-click)", f"{base}{unsubscribe}", script, False),
        ):
            result = wrk(url, seconds=args.seconds, connections=args.connections, script=lua, gzip=gzip)
            time.sleep(1)
            print(
                f"{label}: {float(result['rps']):,.0f} requests/s over {args.seconds} s at {args.connections}"
                f" connections ({result['requests']} requests); p50 {result['p50']}, p99 {result['p99']};"
                f" errors: {result['errors']}"
            )


if __name__ == "__main__":
    main()
