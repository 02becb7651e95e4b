"""``digest run`` for cron and ``digest schedule``: one pass, the run lock, the scheduler's jobs and signals."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.errors import ExitStatus
from digest.schedule.lock import run_lock

from conftest import EXAMPLE_DUMPS, SECRET, Project
from smtp_server import SMTPServer

READERS = ["ada@example.org", "grace@example.org"]


def with_readers(project: Project, smtp: SMTPServer, readers: list[str] = READERS, *, schedule: str = "") -> None:
    project.environ.update(DIGEST_SECRET_KEY=SECRET, DIGEST_SMTP_URL=smtp.url)
    project.write_config(schedule)
    for address in readers:
        assert project.run("subscribers", "add", address).code == 0


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def spawn(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(project.config), *args],
        env={**os.environ, **project.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- digest run ----------------------------------------------------------------------------------


def test_run_does_everything_once_and_then_nothing(project: Project, smtp_server: SMTPServer) -> None:
    with_readers(project, smtp_server)
    for path in EXAMPLE_DUMPS:
        project.drop(path)
    first = project.run("run")
    assert (first.code, first.stdout, first.stderr) == (0, "", "")  # quiet under cron
    assert sorted(smtp_server.sink.by_recipient()) == READERS
    assert (project.root / "site" / "feed.xml").exists()
    second = project.run("run")
    assert (second.code, second.stdout, second.stderr) == (0, "", "")
    assert "nothing to do" in project.run("run", "--verbose").stdout
    assert len(smtp_server.sink.received) == 2
    # The next day's dump is ingested, published and sent by the next run.
    project.drop("x", "next.txt", data=b"Mar 20\nA Brand New Paper\nWith an abstract of several words.\n")
    assert project.run("run").code == 0
    assert len(smtp_server.sink.received) == 4
    assert smtp_server.sink.received[-1].message["Subject"] == "1 new paper for 2026-03-20"


def test_run_reports_a_bad_dump_and_goes_on(project: Project, smtp_server: SMTPServer) -> None:
    with_readers(project, smtp_server)
    project.drop(EXAMPLE_DUMPS[0])
    project.drop("x", "broken.txt", data=b"\x00\x01\x02 binary")
    result = project.run("run")
    assert result.code == ExitStatus.PARTIAL
    (line,) = result.stderr.splitlines()
    assert line.startswith("digest: rejected broken.txt: the file is binary")
    assert len(smtp_server.sink.received) == 2  # the good dump was still published and sent
    assert (project.inbox / "rejected" / "broken.txt.reason").exists()


def test_run_dry_run_changes_nothing(project: Project, smtp_server: SMTPServer) -> None:
    with_readers(project, smtp_server)
    project.drop(EXAMPLE_DUMPS[0])
    result = project.run("run", "--dry-run")
    assert result.code == 0
    assert "would ingest (89 new papers): 000_3c17afee710faccb.txt" in result.stdout
    assert "would publish a digest of 89 papers" in result.stdout
    assert "to up to 2 active subscribers" in result.stdout
    assert smtp_server.sink.received == []
    assert json.loads(project.run("status", "--json").stdout)["dumps"] == 0


def test_a_run_while_another_holds_the_lock_does_nothing(project: Project) -> None:
    project.drop(EXAMPLE_DUMPS[0])
    with run_lock(f"sqlite:///{project.root / 'digest.db'}"):
        result = project.run("run")
    assert result.code == ExitStatus.LOCKED == 4
    (line,) = result.stderr.splitlines()
    assert "another digest run is working" in line
    assert json.loads(project.run("status", "--json").stdout)["dumps"] == 0


def _two_runs_at_once(project: Project, smtp_server: SMTPServer) -> None:
    readers = [f"reader{i:03d}@example.org" for i in range(40)]
    with_readers(project, smtp_server, readers)
    project.drop(EXAMPLE_DUMPS[0])
    smtp_server.sink.delay = 0.05  # the first run takes two seconds or more
    first = spawn(project, "run")
    assert wait_until(lambda: len(smtp_server.sink.received) >= 1)
    second = spawn(project, "run")
    _, second_err = second.communicate(timeout=30)
    assert second.returncode == ExitStatus.LOCKED, second_err
    assert "another digest run is working" in second_err
    _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    got = smtp_server.sink.by_recipient()
    assert sorted(got) == readers and all(len(items) == 1 for items in got.values())


@pytest.mark.slow
def test_two_runs_at_once_one_works(project: Project, smtp_server: SMTPServer) -> None:
    _two_runs_at_once(project, smtp_server)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_runs_at_once_on_postgresql(pg_project: Project, smtp_server: SMTPServer) -> None:
    _two_runs_at_once(pg_project, smtp_server)


# -- digest schedule ------------------------------------------------------------------------------


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


@pytest.mark.slow
def test_the_scheduler_mails_a_dump_soon_after_it_arrives(project: Project, smtp_server: SMTPServer) -> None:
    with_readers(project, smtp_server, schedule="schedule:\n  poll: 1s\n  send: on-arrival\n")
    scheduler = spawn(project, "schedule")
    try:
        time.sleep(1.5)
        assert smtp_server.sink.received == []
        arrived = time.monotonic()
        shutil.copyfile(EXAMPLE_DUMPS[1], project.inbox / ".incoming.txt")
        (project.inbox / ".incoming.txt").rename(project.inbox / "today.txt")
        assert wait_until(lambda: len(smtp_server.sink.received) == 2, timeout=10)
        assert time.monotonic() - arrived < 5
    finally:
        code, err = stop(scheduler)
    assert code == 0, err
    assert "job=poll outcome=ok ingested=1" in err and "dumps=today.txt" in err and "sent[1]=2" in err
    assert "Traceback" not in err


class Logged:
    """A process's stderr, read as it comes: wait for a line instead of sleeping."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        import threading

        self.process = process
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        return code, "".join(self.lines)


@pytest.mark.slow
def test_a_missed_send_time_is_caught_up_once(project: Project, smtp_server: SMTPServer) -> None:
    missed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    cron = f"{missed.minute} {missed.hour} * * *"
    with_readers(project, smtp_server, schedule=f"schedule:\n  poll: 1h\n  send: '{cron}'\n  misfire_grace: 1h\n")
    project.drop(EXAMPLE_DUMPS[0])
    scheduler = Logged(spawn(project, "schedule"))
    try:
        assert wait_until(lambda: scheduler.said("job=send outcome=ok"), timeout=120)
    finally:
        code, err = scheduler.stop()
    assert code == 0, err
    assert err.count("job=send outcome=catching-up") == 1
    assert len(smtp_server.sink.received) == 2
    # A restart does not send it again: once it has started (and decided), it has nothing to catch up.
    again = Logged(spawn(project, "schedule"))
    assert wait_until(lambda: again.said("scheduler started"), timeout=120)
    code, err = again.stop()
    assert code == 0, err
    assert "catching-up" not in err
    assert len(smtp_server.sink.received) == 2


SIGTERM_WHILE_LOADING = """
import importlib.abc, os, signal, sys

class TermOnImport(importlib.abc.MetaPathFinder):
    # SIGTERM arrives while the scheduler loads its slow modules (mail, ranking): the first second of a start.
    def find_spec(self, name, path=None, target=None):
        if name == "digest.mail.mailer":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGTERM)
        return None

sys.meta_path.insert(0, TermOnImport())
from digest.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_sigterm_while_the_scheduler_starts_stops_it_with_status_0(project: Project) -> None:
    process = subprocess.run(
        [sys.executable, "-c", SIGTERM_WHILE_LOADING, "--config", str(project.config), "schedule"],
        env={**os.environ, **project.environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, (process.returncode, process.stderr)
    assert "scheduler stopped before its first job" in process.stderr


def test_a_stop_just_after_the_scheduler_is_built_still_stops_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM can come after "scheduler started" is said and before the scheduler runs: it stops it all the
    same (a shutdown asked of a scheduler not yet running waits for it to run)."""
    import threading

    from digest.config import load_config
    from digest.mail.outbox import OutboxTransport
    from digest.schedule.scheduler import DigestScheduler
    from digest.store import open_store

    project.write_config("schedule:\n  poll: 1h\n")
    config = load_config(project.config, {})
    scheduler = DigestScheduler(
        config,
        open_store=lambda: open_store(config.database, now=dt.datetime.now(dt.UTC)),
        clock=lambda: dt.datetime.now(dt.UTC),
        secret=lambda: SECRET.encode(),
        transport=lambda: OutboxTransport(config.delivery.outbox),
    )
    said = scheduler.route_scheduler_logs

    def said_then_stopped() -> None:  # (the last step before the scheduler starts)
        said()
        scheduler.request_stop()

    monkeypatch.setattr(scheduler, "route_scheduler_logs", said_then_stopped)
    running = threading.Thread(target=scheduler.run_forever, daemon=True)
    running.start()
    running.join(timeout=30)
    assert not running.is_alive(), "the scheduler went on running after a stop"


@pytest.mark.slow
def test_sigterm_during_a_send_finishes_the_current_message(project: Project, smtp_server: SMTPServer) -> None:
    readers = [f"reader{i:03d}@example.org" for i in range(60)]
    with_readers(project, smtp_server, readers, schedule="schedule:\n  poll: 1s\n  send: on-arrival\n")
    smtp_server.sink.delay = 0.05
    project.drop(EXAMPLE_DUMPS[1])
    scheduler = spawn(project, "schedule")
    assert wait_until(lambda: len(smtp_server.sink.received) >= 5)
    code, err = stop(scheduler)
    assert code == 0, err
    sent_before = len(smtp_server.sink.received)
    assert 5 <= sent_before < 60
    state = json.loads(project.run("deliveries", "--json").stdout)
    assert state["sending"] == 0  # nothing left claimed: the current message was recorded, the rest requeued
    assert state["sent"] == sent_before
    smtp_server.sink.delay = 0
    assert project.run("run").code == 0
    got = smtp_server.sink.by_recipient()
    assert sorted(got) == readers and all(len(items) == 1 for items in got.values())


@pytest.mark.slow
def test_a_run_stopped_by_sigterm_says_what_is_left_and_exits_3(project: Project, smtp_server: SMTPServer) -> None:
    readers = [f"reader{i:03d}@example.org" for i in range(60)]
    with_readers(project, smtp_server, readers)
    smtp_server.sink.delay = 0.05
    project.drop(EXAMPLE_DUMPS[1])
    run = spawn(project, "run")
    assert wait_until(lambda: len(smtp_server.sink.received) >= 5)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=30)
    assert run.returncode == ExitStatus.PARTIAL, err
    (line,) = err.splitlines()
    assert line.startswith("digest: stopped on request; ") and line.endswith("stay queued for a later run")
    left = int(line.split("; ")[1].split()[0])
    assert left == 60 - len(smtp_server.sink.received)
    smtp_server.sink.delay = 0
    assert project.run("run").code == ExitStatus.OK
    assert sorted(smtp_server.sink.by_recipient()) == readers


@pytest.mark.parametrize(
    ("schedule", "key"),
    [
        ("timezone: Atlantis/Lost\n", "timezone"),
        ("schedule:\n  send: '0 25 * * *'\n", "schedule.send"),
        ("schedule:\n  poll: -1\n", "schedule.poll"),
        ("schedule:\n  misfire_grace: soon\n", "schedule.misfire_grace"),
    ],
)
def test_bad_schedule_values_fail_at_start(project: Project, schedule: str, key: str) -> None:
    text = project.config.read_text()
    project.config.write_text(text.replace("timezone: UTC\n", "") + schedule)
    result = project.run("schedule")
    assert result.code == ExitStatus.USAGE
    (line,) = result.stderr.splitlines()
    assert f": {key}: " in line


def test_crontab_weekdays_mean_what_they_mean_in_crontab() -> None:
    from zoneinfo import ZoneInfo

    from digest.cron import crontab_trigger

    utc = ZoneInfo("UTC")
    sunday = dt.datetime(2026, 11, 22, tzinfo=utc)
    for expression, weekday in [
        ("0 7 * * 1", "Monday"),
        ("0 7 * * 0", "Sunday"),
        ("0 7 * * 7", "Sunday"),
        ("0 7 * * 5", "Friday"),
        ("0 7 * * sat", "Saturday"),
    ]:
        fire = crontab_trigger(expression, utc).get_next_fire_time(None, sunday + dt.timedelta(hours=8))
        assert fire.strftime("%A") == weekday, expression


def test_run_and_schedule_have_help(project: Project) -> None:
    for command in ("run", "schedule"):
        result = project.run(command, "--help")
        assert result.code == 0 and "example:" in result.stdout


def test_contrib_files_exist() -> None:
    root = Path(__file__).resolve().parent.parent
    unit = (root / "contrib" / "digest.service").read_text()
    assert "ExecStart=" in unit and "digest schedule" in unit
    assert "digest run" in (root / "contrib" / "crontab").read_text()
