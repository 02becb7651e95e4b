"""Crontab times across daylight-saving changes: the catch-up search always ends, and finds a real send time."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.cron import crontab_trigger, previous_fire_time

LONDON = ZoneInfo("Europe/London")
GRACE = dt.timedelta(hours=3)


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A search that loops fails the test instead of hanging the suite."""

    def hung(*_: object) -> None:
        raise TimeoutError("previous_fire_time did not return within 5 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def london(*fields: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=LONDON, fold=fold)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "now", "expected_utc"),
    [
        # Fall back (2026-10-25, 02:00 BST -> 01:00 GMT): the reported hang, started at 01:45 in either pass.
        ("30 1 * * *", london(2026, 10, 25, 1, 45), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        ("30 1 * * *", london(2026, 10, 25, 1, 45, fold=1), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        ("30 1 * * *", london(2026, 10, 25, 4, 0), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        # Spring forward (2026-03-29, 01:00 GMT -> 02:00 BST): 01:30 does not exist that day.
        ("30 1 * * *", london(2026, 3, 29, 3, 0), dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)),
        # Ordinary send times on both change days.
        ("0 7 * * *", london(2026, 3, 29, 8, 0), dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)),
        ("0 7 * * *", london(2026, 10, 25, 8, 0), dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC)),
        # Nothing due within the grace.
        ("0 7 * * *", london(2026, 10, 25, 12, 0), None),
    ],
)
def test_missed_send_across_daylight_saving_changes(
    expression: str, now: dt.datetime, expected_utc: dt.datetime | None
) -> None:
    found = previous_fire_time(crontab_trigger(expression, LONDON), now, within=GRACE)
    assert (found.astimezone(dt.UTC) if found else None) == expected_utc


def test_every_five_minutes_through_the_repeated_hour_ends() -> None:
    now = london(2026, 10, 25, 1, 47, fold=1)
    found = previous_fire_time(crontab_trigger("*/5 * * * *", LONDON), now, within=GRACE)
    assert found is not None and found <= now


ZONES = st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC", "America/Santiago"])
EXPRESSIONS = st.sampled_from(["30 1 * * *", "0 2 * * *", "*/7 * * * *", "15 1-3 * * 0", "0 7 * * 1-5", "59 23 * * *"])


@settings(deadline=None)
@given(
    zone=ZONES,
    expression=EXPRESSIONS,
    instant=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    grace_minutes=st.integers(min_value=1, max_value=24 * 60),
)
def test_the_search_ends_and_finds_a_real_fire_time_not_after_now(
    zone: str, expression: str, instant: dt.datetime, grace_minutes: int
) -> None:
    tz = ZoneInfo(zone)
    now = instant.replace(tzinfo=dt.UTC).astimezone(tz)
    within = dt.timedelta(minutes=grace_minutes)
    trigger = crontab_trigger(expression, tz)
    found = previous_fire_time(trigger, now, within=within)
    if found is not None:
        assert now - within <= found <= now
        assert trigger.get_next_fire_time(None, found) == found


def test_a_busy_job_is_reported_once_per_busy_spell_in_our_format() -> None:
    import io
    import logging

    from digest.schedule.log import BusyJobNotice

    notice = BusyJobNotice()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("digest: %(message)s"))
    logger = logging.getLogger("test.apscheduler.scheduler")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.addFilter(notice)
    job = "poll (trigger: interval[0:05:00], next run at: 2026-11-22 09:05:00 UTC)"
    message = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'
    for _ in range(5):
        logger.warning(message, job, 1)
    notice.ran("poll")
    logger.warning(message, job, 1)
    logger.warning("something else entirely")
    assert stream.getvalue().splitlines() == [
        "digest: job=poll outcome=skipped reason=busy (the previous job is still running)",
        "digest: job=poll outcome=skipped reason=busy (the previous job is still running)",
        "digest: something else entirely",
    ]
