"""Helpers shared by the benchmark scripts: child-process timing and peak memory."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    wall: float  # seconds
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def digest_command() -> list[str]:
    """How to start digest: the console script beside this Python, else ``python -m digest``."""
    script = Path(sys.executable).with_name("digest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "digest"]


#: Starts the measured command from a small process of its own: Linux counts the RSS a child had before its
#: exec (the parent's, shared or copied at fork) in its peak, so a command started straight from a benchmark
#: that has imported half of PyPI would report the benchmark's memory. Writes "wall maxrss_kb status".
_LAUNCHER = """
import os, sys, time
report, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(args[0], args, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as out:
    out.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_measured(args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Measured:
    """Run one command; its own wall time and peak RSS (from wait4 in a small launcher, see :data:`_LAUNCHER`)."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, report.name, *args]
        proc = subprocess.run(launcher, cwd=cwd, env=env, stdout=out, stderr=err, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"the launcher failed ({proc.returncode}) for {args[0]}")
        wall, maxrss, code = report.read().split()
        out.seek(0)
        err.seek(0)
        return Measured(float(wall), int(maxrss) / 1024, int(code), out.read(), err.read())


def median_wall(args: Sequence[str], repeat: int) -> float:
    return statistics.median(run_measured(args).wall for _ in range(repeat))


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def publish_examples(folder: Path, port: int, now: dt.datetime) -> Path:
    """A SQLite project in *folder* whose site is served on *port*, the example dumps published; its config path."""
    from digest.config import load_config
    from digest.listings.ingest import IngestContext, ingest_paths
    from digest.pipeline import publish
    from digest.store import open_store

    (folder / "schedule.yaml").write_text(
        "timezone: UTC\ninbox: inbox\ndatabase: sqlite:///digest.db\n"
        f"site: {{url: 'http://127.0.0.1:{port}/', dir: site}}\n"
    )
    config = load_config(folder / "schedule.yaml", {})
    with open_store(config.database, now=now) as store:
        for index, dump in enumerate(sorted((ROOT / "examples" / "dumps").glob("*.txt"))):
            day = now + dt.timedelta(seconds=index)
            ingest_paths(store, [dump], IngestContext(inbox=config.inbox, timezone=config.timezone, now=day))
            publish(store, config, now=day)
    return folder / "schedule.yaml"


@contextmanager
def serving(work: Path, port: int, secret: str) -> Iterator[str]:
    """``digest serve`` for the project in *work* on *port*, once it accepts connections: its base URL. On the
    way out the server is stopped and *work* removed."""
    server = subprocess.Popen(
        [*digest_command(), "--config", str(work / "schedule.yaml"), "serve", "--port", str(port)],
        env={**os.environ, "DIGEST_SECRET_KEY": secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("digest serve did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
