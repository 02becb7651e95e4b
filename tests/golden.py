"""Golden files: compare output with a file under tests/data; DIGEST_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE = os.environ.get("DIGEST_UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; DIGEST_UPDATE_GOLDEN=1 rewrites it. A mismatch prints a unified diff."""
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{path} (golden)",
                tofile="rendered",
                n=2,
            )
        )
        pytest.fail(f"{path.name} differs from its golden file (DIGEST_UPDATE_GOLDEN=1 regenerates it):\n{diff}")
