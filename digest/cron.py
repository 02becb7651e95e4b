"""Crontab expressions as crontab(5) reads them, for APScheduler 3.

APScheduler 3's ``CronTrigger.from_crontab`` counts weekdays from Monday = 0,
while crontab counts from Sunday = 0 (7 is Sunday too): "0 7 * * 1" would fire
on Tuesdays. Numeric day-of-week values are translated to day names here, so
schedule.yaml means what it would mean in a crontab.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_days(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names ("1-5" -> "mon,tue,wed,thu,fri")."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in day of week: {part!r}")
        if base == "*":
            start, end = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _day(first), _day(last)
            if end == 0 and last.strip() == "7":
                end = 7
        else:
            start = end = _day(base)
            if step_text:
                end = 6
        if start > end:
            raise ValueError(f"day-of-week range runs backwards: {part!r}")
        days.update(day % 7 for day in range(start, end + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def _day(text: str) -> int:
    text = text.strip().lower()
    if text.isdigit():
        value = int(text)
        if not 0 <= value <= 7:
            raise ValueError(f"day of week {value} is out of range (0-7, 0 and 7 are Sunday)")
        return value % 7 if value != 7 else 0
    if text[:3] in DAY_NAMES:
        return DAY_NAMES.index(text[:3])
    raise ValueError(f"unknown day of week {text!r}")


_PLAIN_FIELD = re.compile(r"(\*|\d{1,2}(?:-\d{1,2})?)(?:/(\d{1,2}))?")
_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def surely_fires(expression: str) -> bool:
    """True when ``expression`` is a plain numeric crontab that fires on some day of some year.

    This needs no scheduler library (whose import costs every command tens of
    milliseconds); anything else (names, out-of-range values, a day no month
    has) answers False, and the caller asks :func:`crontab_trigger` instead.
    """
    fields = expression.split()
    if len(fields) != 5:
        return False
    values = [_plain_values(field, low, high) for field, (low, high) in zip(fields, _FIELD_RANGES, strict=True)]
    if any(not found for found in values):
        return False
    days, months = values[2], values[3]
    return any(day <= _LONGEST_MONTH[month] for month in months for day in days)


def _plain_values(field: str, low: int, high: int) -> set[int]:
    """The values a plain field ("*", "5", "1-5", "*/15", "0-30/10", lists of them) allows; empty when not plain."""
    found: set[int] = set()
    for part in field.split(","):
        match = _PLAIN_FIELD.fullmatch(part)
        if match is None:
            return set()
        base, step = match[1], int(match[2] or 1)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(number) for number in base.split("-"))
        elif match[2] is None:
            start = end = int(base)
        else:
            return set()  # "5/15" reads differently in different crontabs: let the scheduler library judge
        if step < 1 or not low <= start <= end <= high or (match[2] and step > end - start):
            return set()  # (a step longer than its range is refused by the scheduler library)
        found.update(range(start, end + 1, step))
    return found


def crontab_trigger(expression: str, timezone: ZoneInfo) -> Any:
    """An APScheduler CronTrigger for a five-field crontab expression; ValueError when it is bad."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_crontab_days(weekday), timezone=timezone
    )


def previous_fire_time(trigger: Any, now: dt.datetime, *, within: dt.timedelta) -> dt.datetime | None:
    """The last time the trigger fired at or before ``now``, looking back at most ``within``.

    The search walks forward in absolute time from ``now - within``. Around a
    daylight-saving change APScheduler 3 can answer a moment that is not after
    the one asked about (in the repeated hour it returns the same wall time
    again); the probe then moves on by a minute, the resolution of a crontab,
    so the walk always ends, after at most one step per minute of ``within``.
    """
    probe = now - within
    last = None
    for _ in range(int(within.total_seconds() // 60) + 2):
        moment = trigger.get_next_fire_time(last, probe)
        if moment is None or moment > now:
            return last
        if moment < probe or (last is not None and moment <= last):
            probe = _later(probe, dt.timedelta(minutes=1))
            continue
        last = moment
        probe = _later(moment, dt.timedelta(seconds=1))
    return last


def _later(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """``moment + step`` in absolute time (aware arithmetic in one zone is wall-clock arithmetic)."""
    return (moment.astimezone(dt.UTC) + step).astimezone(moment.tzinfo)
