"""Shared fixtures: a project folder, the CLI run in-process, and both databases."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from digest.cli import Environment, main

# Fixtures of their own modules: a real SMTP server, a real browser, a real HTTP server.
pytest_plugins = ["smtp_server", "browser", "http_server"]

# HYPOTHESIS_PROFILE=thorough runs the property tests on many more examples.
settings.register_profile("thorough", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DUMPS = sorted((ROOT / "examples" / "dumps").glob("*.txt"))
POSTGRES_URL = os.environ.get("DIGEST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

#: The clock every test runs at unless it says otherwise.
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class Project:
    """A folder with a schedule.yaml, an inbox and a history database."""

    root: Path
    database: str
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "schedule.yaml"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def drop(self, source: Path | str, name: str | None = None, *, data: bytes | None = None) -> Path:
        """Put a dump into the inbox."""
        target = self.inbox / (name or Path(source).name)
        if data is None:
            shutil.copyfile(source, target)
        else:
            target.write_bytes(data)
        return target

    def write_config(self, extra: str = "", *, delivery: str = "") -> None:
        """schedule.yaml with test defaults; ``delivery`` adds keys to the delivery section."""
        self.config.write_text(
            "timezone: UTC\n"
            "inbox: inbox\n"
            "inbox_settle: 0s\n"
            f"database: {self.database}\n"
            "site:\n  dir: site\n  url: https://digest.example.org/\n"
            "delivery:\n  outbox: outbox\n  rate: 0\n" + delivery + extra,
            encoding="utf-8",
        )

    def run(self, *args: str, now: dt.datetime = NOW, interactive: bool = False) -> Result:
        """Run digest in-process with this project's config, environment and clock."""
        stdout, stderr = io.StringIO(), io.StringIO()
        env = Environment(
            stdout=stdout,
            stderr=stderr,
            environ=dict(self.environ),
            clock=lambda: now,
            interactive=interactive,
        )
        code = main(["--config", str(self.config), *args], env)
        return Result(code, stdout.getvalue(), stderr.getvalue())


def _postgres_available() -> str | None:
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        return f"no PostgreSQL server answers at {POSTGRES_URL} ({type(exc).__name__})"
    return None


_POSTGRES_PROBLEM: str | bool | None = False


def postgres_problem() -> str | None:
    global _POSTGRES_PROBLEM
    if _POSTGRES_PROBLEM is False:
        _POSTGRES_PROBLEM = _postgres_available()
    return _POSTGRES_PROBLEM  # type: ignore[return-value]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    problem = postgres_problem()
    if problem and os.environ.get("DIGEST_REQUIRE_POSTGRES"):
        pytest.fail(f"{problem}, and DIGEST_REQUIRE_POSTGRES is set")
    if problem:
        pytest.skip(problem)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "project", "sqlite:///digest.db")
    project.inbox.mkdir(parents=True)
    project.write_config()
    return project


@pytest.fixture
def pg_project(tmp_path: Path, postgres_url: str) -> Project:
    project = Project(tmp_path / "project", postgres_url)
    project.inbox.mkdir(parents=True)
    project.write_config()
    return project


SECRET = "test-secret-key-that-is-long-enough-0123456789"
