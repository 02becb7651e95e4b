"""Weekly digests, the pure part: when a week's mail is due, and the one digest a week's mail shows.

A weekly reader gets no daily mail. Each daily digest waits for them (its
ledger row is *held*) until their weekly mail, which holds every digest
that waited, as one digest whose order takes each day's listing in turn.

A week is named by the local date of its send day (``schedule.weekly``, e.g.
Monday at the usual send time). Its send time is a wall-clock time in the
configured timezone: through a daylight-saving change it stays 07:00 local,
so the instant moves by an hour. A time the change skips (01:30 on the last
Sunday of March in London) is read with the offset in force before the
change, i.e. an hour later on the clock (02:30); a time that happens twice
(the autumn change) is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from digest.models import Digest

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A reader's first weekly mail looks back this far.
FIRST_LOOKBACK = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class WeeklyTime:
    weekday: int  # 0 = Monday, as date.weekday()
    at: dt.time  # local wall-clock time

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.at:%H:%M}"


def send_time(day: dt.date, at: dt.time, timezone: ZoneInfo) -> dt.datetime:
    """The instant of wall-clock ``at`` on ``day`` in ``timezone`` (see the module's note on DST), in UTC."""
    return dt.datetime.combine(day, at, tzinfo=timezone).astimezone(dt.UTC)


def week_due(when: WeeklyTime, timezone: ZoneInfo, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The latest week whose send time is at or before ``now``: (its name, its send time in UTC)."""
    today = now.astimezone(timezone).date()
    day = today - dt.timedelta(days=(today.weekday() - when.weekday) % 7)
    due = send_time(day, when.at, timezone)
    if due > now:
        day -= dt.timedelta(days=7)
        due = send_time(day, when.at, timezone)
    return day, due


def next_week_due(when: WeeklyTime, timezone: ZoneInfo, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The first week whose send time is after ``now``."""
    day, _ = week_due(when, timezone, now)
    day += dt.timedelta(days=7)
    return day, send_time(day, when.at, timezone)


def week_slug(week: dt.date) -> str:
    """The week's archive page name."""
    return f"week-{week.isoformat()}"


def week_digest(week: dt.date, digests: Sequence[Digest], *, published_at: dt.datetime) -> Digest:
    """One digest of the week's daily digests, every paper once, in the listings' order taken across the days:
    each day's first paper (newest day first), then each day's second, and so on (the week's "top papers")."""
    newest_first = sorted(digests, key=lambda digest: digest.id or 0, reverse=True)
    placed = sorted(
        (
            (position, day, paper)
            for day, digest in enumerate(newest_first)
            for position, paper in enumerate(digest.papers)
        ),
        key=lambda entry: (entry[0], entry[1]),
    )
    papers, seen = [], set()
    for _, _, paper in placed:
        if paper.id not in seen:
            seen.add(paper.id)
            papers.append(paper)
    return Digest(
        slug=week_slug(week),
        date=week,
        papers=tuple(papers),
        seen_before=0,  # (a daily digest's count of papers an earlier one held says nothing about a week)
        dump_dates=tuple(sorted({day for digest in digests for day in digest.dump_dates})),
        first_dump_id=min((digest.first_dump_id for digest in digests), default=0),
        last_dump_id=max((digest.last_dump_id for digest in digests), default=0),
        published_at=published_at,
        weekly=True,
    )


def parse_weekly(text: str, default_at: dt.time | None) -> WeeklyTime:
    """ "mon", "monday" or "mon 07:00"; without a time, ``default_at`` (ValueError when there is none)."""
    parts = text.strip().lower().split()
    if not parts or len(parts) > 2 or not any(full.startswith(parts[0]) and len(parts[0]) >= 3 for full in DAYS_FULL):
        raise ValueError(f"expected a weekday such as 'mon', optionally with a time ('mon 07:00'), got {text!r}")
    weekday = DAYS.index(parts[0][:3])
    if len(parts) == 1:
        if default_at is None:
            raise ValueError(
                f"give the time too, e.g. '{DAYS[weekday]} 07:00': schedule.send has no single time of day"
            )
        return WeeklyTime(weekday, default_at)
    try:
        at = dt.time.fromisoformat(parts[1])
    except ValueError:
        raise ValueError(f"expected a time such as 07:00 after the weekday, got {parts[1]!r}") from None
    return WeeklyTime(weekday, at.replace(second=0, microsecond=0))


DAYS_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def daily_time(crontab: str) -> dt.time | None:
    """The one time of day a crontab fires at ("0 7 * * *" -> 07:00); None when it has several or none."""
    fields = crontab.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return None
    minute, hour = int(fields[0]), int(fields[1])
    return dt.time(hour, minute) if minute < 60 and hour < 24 else None
