"""Helpers shared by the benchmark scripts: child-process timing and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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


def run_measured(args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Measured:
    """Run one child process; its own wall time and peak RSS (from wait4, not the children's maximum)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(wall, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read())


def median_wall(args: Sequence[str], repeat: int) -> float:
    return statistics.median(run_measured(args).wall for _ in range(repeat))
