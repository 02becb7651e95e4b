"""Weekly digests: one mail a week on the configured day and time, across a DST change, none lost or repeated.

The clock is injected: every test walks days of March and April 2027 in
Europe/London (summer time starts on Sunday 28 March), dropping one dump a day
and running ``digest run`` at many times of each Monday, as cron would.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.config import load_config
from digest.errors import ExitStatus
from digest.models import Digest, StoredPaper
from digest.weekly import WeeklyTime, parse_weekly, send_time, week_digest, week_due

from conftest import NOW, SECRET, Project

LONDON = "Europe/London"
UTC = dt.UTC
PAPER = re.compile(r"Paper D(\d+)K(\d)\b")
TOPICS = ("sparse attention for long context language models", "diffusion models for image generation",
          "reinforcement learning from human feedback", "protein structure prediction with graph networks")  # fmt: skip


def day_dump(day: int) -> bytes:
    """Day ``day``'s listing: three papers no other day lists."""
    papers = [
        f"Paper D{day:02d}K{k} on {TOPICS[(day + k) % 4]}\n"
        f"We study {TOPICS[(day + k) % 4]} and report results on benchmark {day * 10 + k}; "
        f"our method improves {TOPICS[(day + k + 1) % 4]} baselines by a wide margin.\n"
        for k in range(3)
    ]
    return "\n".join(papers).encode()


def weekly_project(project: Project, schedule: str = "  weekly: mon\n") -> Project:
    project.write_config(f"schedule:\n  send: '0 7 * * *'\n  misfire_grace: 3h\n{schedule}")
    text = project.config.read_text(encoding="utf-8").replace("timezone: UTC", f"timezone: {LONDON}")
    project.config.write_text(text, encoding="utf-8")
    return project


def outbox(project: Project) -> dict[str, set[str]]:
    """Each message in the outbox: its file name -> the papers it names."""
    folder = project.root / "outbox" / "new"
    found = {}
    for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",))
        assert isinstance(text, email.message.EmailMessage)
        found[path.name] = {f"D{d}K{k}" for d, k in PAPER.findall(text.get_content())}
    return found


class Calendar:
    """Days of a simulated spring: a dump each night at 03:00 UTC, runs through each Monday morning."""

    def __init__(self, project: Project, start: dt.date) -> None:
        self.project = project
        self.start = start
        self.arrivals: dict[str, dt.datetime] = {}  # message file -> the run that wrote it
        self.published: dict[str, int] = {}  # paper -> day number
        self.last = dt.datetime.combine(start, dt.time(0), tzinfo=UTC)  # the latest run

    def day(self, number: int, *, runs: list[dt.time] | None = None, at: dt.time = dt.time(3)) -> None:
        """Day ``number``: its dump arrives and is run at ``at`` (UTC); then Monday's runs, or ``runs``."""
        date = self.start + dt.timedelta(days=number)
        run_at = dt.datetime.combine(date, at, tzinfo=UTC)
        arrived = (run_at - dt.timedelta(minutes=30)).timestamp()
        path = self.project.drop("", f"day-{number:02d}.txt", data=day_dump(number))
        os.utime(path, (arrived, arrived))  # (a dump without a date line is dated by its arrival)
        self.run(run_at)
        self.published.update({f"D{number:02d}K{k}": number for k in range(3)})
        if date.weekday() == 0 or runs:  # Monday: cron runs every 15 minutes from 05:00 to 09:00 UTC
            times = runs or [dt.time(5 + minutes // 60, minutes % 60) for minutes in range(0, 4 * 60 + 1, 15)]
            for at in times:
                self.run(dt.datetime.combine(date, at, tzinfo=UTC))

    def run(self, now: dt.datetime) -> None:
        self.last = now
        result = self.project.run("run", now=now)
        assert result.code == ExitStatus.OK, result.stderr
        assert result.stdout == "" and result.stderr == ""  # quiet under cron
        for name in outbox(self.project):
            self.arrivals.setdefault(name, now)

    def mails_of(self, subscriber_id: int) -> dict[str, set[str]]:
        return {
            name: papers
            for name, papers in outbox(self.project).items()
            if name.removesuffix(".eml").rsplit("-", 1)[1] == str(subscriber_id)
        }


def test_weekly_time_is_local_wall_clock_time_across_the_change_to_summer_time() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo(LONDON)
    monday_seven = WeeklyTime(0, dt.time(7))
    assert send_time(dt.date(2027, 3, 22), dt.time(7), london) == dt.datetime(2027, 3, 22, 7, tzinfo=UTC)
    assert send_time(dt.date(2027, 3, 29), dt.time(7), london) == dt.datetime(2027, 3, 29, 6, tzinfo=UTC)
    # Just before and after Monday 07:00 BST.
    assert week_due(monday_seven, london, dt.datetime(2027, 3, 29, 5, 59, tzinfo=UTC))[0] == dt.date(2027, 3, 22)
    assert week_due(monday_seven, london, dt.datetime(2027, 3, 29, 6, 0, tzinfo=UTC))[0] == dt.date(2027, 3, 29)
    # 01:30 does not exist on Sunday 28 March: it is read an hour later on the clock, 02:30 BST.
    sunday = WeeklyTime(6, dt.time(1, 30))
    assert week_due(sunday, london, dt.datetime(2027, 3, 28, 1, 29, tzinfo=UTC))[0] == dt.date(2027, 3, 21)
    assert week_due(sunday, london, dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)) == (
        dt.date(2027, 3, 28),
        dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
    )
    # 01:30 happens twice on Sunday 31 October: the first one.
    assert send_time(dt.date(2027, 10, 31), dt.time(1, 30), london) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_schedule_weekly_is_read_and_bad_values_say_how_to_fix_them(project: Project) -> None:
    assert parse_weekly("Monday", dt.time(7)) == WeeklyTime(0, dt.time(7))
    assert parse_weekly("fri 18:30", None) == WeeklyTime(4, dt.time(18, 30))
    weekly_project(project, "  weekly: sun\n")
    config = load_config(project.config, {})
    assert config.schedule.weekly == WeeklyTime(6, dt.time(7))  # schedule.send's time of day
    for value, message in [
        ("someday", "expected a weekday such as 'mon'"),
        ("mon 7pm", "expected a time such as 07:00 after the weekday, got '7pm'"),
    ]:
        weekly_project(project, f"  weekly: {value}\n")
        result = project.run("status")
        assert result.code == ExitStatus.USAGE and message in result.stderr, result.stderr
    project.write_config("schedule:\n  send: on-arrival\n  weekly: mon\n")
    result = project.run("status")
    assert result.code == ExitStatus.USAGE and "give the time too, e.g. 'mon 07:00'" in result.stderr


def test_one_weekly_mail_per_week_at_seven_local_time_across_the_dst_change(project: Project) -> None:
    """Three Mondays: 07:00 GMT, then 07:00 BST (06:00 UTC) after the clocks go forward on 28 March."""
    weekly_project(project)
    for address, frequency in [("daily@example.org", "daily"), ("weekly@example.org", "weekly")]:
        assert project.run("subscribers", "add", address, "--frequency", frequency).code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))  # a Sunday
    for number in range(23):  # to Tuesday 6 April
        calendar.day(number)
    weekly = calendar.mails_of(2)
    assert sorted(weekly) == [f"week-2027-03-{d}-2.eml" for d in (15, 22, 29)] + ["week-2027-04-05-2.eml"]
    assert [calendar.arrivals[name] for name in sorted(weekly)] == [
        dt.datetime(2027, 3, 15, 7, tzinfo=UTC),
        dt.datetime(2027, 3, 22, 7, tzinfo=UTC),
        dt.datetime(2027, 3, 29, 6, tzinfo=UTC),  # 07:00 BST
        dt.datetime(2027, 4, 5, 6, tzinfo=UTC),
    ]
    # Every paper once, in the first weekly mail after it was published; none in a daily mail to them.
    seen = Counter(paper for papers in weekly.values() for paper in papers)
    published_by_last_monday = {paper for paper, day in calendar.published.items() if day <= 22}
    assert set(seen) == published_by_last_monday and set(seen.values()) == {1}
    assert weekly["week-2027-03-22-2.eml"] == {f"D{d:02d}K{k}" for d in range(2, 9) for k in range(3)}
    planned = project.run("send", "--dry-run").stdout
    assert "would send to at most 0 active subscribers" in planned and "1 weekly readers wait for their week" in planned
    status = project.run("status", now=dt.datetime(2027, 4, 6, 12, tzinfo=UTC)).stdout
    assert "weekly:      mon 07:00 (Europe/London), next 2027-04-12 07:00 BST; 1 weekly reader(s);" in status
    assert "week 2027-04-05: 1 sent, 0 to send" in status
    # The daily reader: one mail a day, every paper once.
    daily = calendar.mails_of(1)
    assert len(daily) == 23 and all(name.startswith("digest-") for name in daily)
    assert Counter(p for papers in daily.values() for p in papers) == Counter(list(calendar.published))


def test_switching_frequency_mid_week_neither_loses_nor_repeats_a_paper(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "switcher@example.org").code == ExitStatus.OK
    assert project.run("subscribers", "add", "newcomer@example.org").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    for number in range(3):  # Sun, Mon, Tue: daily mails
        calendar.day(number)
    assert project.run("subscribers", "set", "switcher@example.org", "--frequency", "weekly").code == 0
    for number in range(3, 9):  # Wed to Mon 22 March: the weekly mail holds Wed to Mon
        calendar.day(number)
    mails = calendar.mails_of(1)
    assert sorted(mails)[-1] == "week-2027-03-22-1.eml"
    assert mails["week-2027-03-22-1.eml"] == {f"D{d:02d}K{k}" for d in range(3, 9) for k in range(3)}
    for number in range(9, 11):  # Tue, Wed: held for the next weekly mail
        calendar.day(number)
    # Back to daily on Wednesday evening: what the week held so far comes with the next run.
    assert project.run("subscribers", "set", "switcher@example.org", "--frequency", "daily").code == 0
    for number in range(11, 16):
        calendar.day(number)
    seen = Counter(paper for papers in calendar.mails_of(1).values() for paper in papers)
    assert seen == Counter(list(calendar.published))  # every paper, each once
    assert not any(name.startswith("week-2027-03-29") for name in calendar.mails_of(1))
    # The other reader stayed daily: a mail every day, and never a weekly one.
    assert all(name.startswith("digest-") for name in calendar.mails_of(2))


def test_a_new_weekly_reader_first_gets_the_last_seven_days(project: Project) -> None:
    weekly_project(project)
    calendar = Calendar(project, dt.date(2027, 3, 7))
    for number in range(12):  # to Thursday 18 March
        calendar.day(number)
    assert project.run("subscribers", "add", "new@example.org", "--frequency", "weekly").code == ExitStatus.OK
    preview = project.root / "preview"
    result = project.run("preview", "--subscriber", "new@example.org", "--out", str(preview),
                         now=dt.datetime(2027, 3, 18, 12, tzinfo=UTC))  # fmt: skip
    assert result.code == ExitStatus.OK, result.stderr
    assert "new papers this week (2027-03-22)" in result.stdout
    previewed = set(PAPER.findall((preview / "digest-week-2027-03-22.txt").read_text(encoding="utf-8")))
    for number in range(12, 16):  # Fri 19 to Mon 22 March
        calendar.day(number)
    mails = calendar.mails_of(1)
    assert list(mails) == ["week-2027-03-22-1.eml"]
    # Published after Monday 15 March 07:00: Tuesday 16 (day 9) to Monday 22 (day 15).
    assert mails["week-2027-03-22-1.eml"] == {f"D{d:02d}K{k}" for d in range(9, 16) for k in range(3)}
    assert {f"D{d}K{k}" for d, k in previewed} == {f"D{d:02d}K{k}" for d in range(9, 12) for k in range(3)}


def test_an_outage_past_the_misfire_grace_skips_a_week_and_the_next_mail_holds_it(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    calendar.day(0)
    calendar.day(1, runs=[dt.time(9, 30)])  # Monday 15: down until 09:30, within 3h of 07:00: caught up
    for number in range(2, 8):
        calendar.day(number)
    calendar.day(8, runs=[dt.time(10, 1), dt.time(12)])  # Monday 22: down until 10:01, past the grace
    for number in range(9, 16):
        calendar.day(number)
    mails = calendar.mails_of(1)
    assert sorted(mails) == ["week-2027-03-15-1.eml", "week-2027-03-29-1.eml"]
    assert calendar.arrivals["week-2027-03-15-1.eml"] == dt.datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
    assert mails["week-2027-03-29-1.eml"] == {f"D{d:02d}K{k}" for d in range(2, 16) for k in range(3)}


@pytest.mark.postgres
def test_weekly_mails_on_postgresql(pg_project: Project) -> None:
    weekly_project(pg_project)
    pg_project.environ["DIGEST_SECRET_KEY"] = SECRET
    assert pg_project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(pg_project, dt.date(2027, 3, 14))
    for number in range(16):
        calendar.day(number)
    mails = calendar.mails_of(1)
    assert sorted(mails) == [f"week-2027-03-{d}-1.eml" for d in (15, 22, 29)]
    assert Counter(p for papers in mails.values() for p in papers) == Counter(list(calendar.published))


def test_the_week_page_holds_the_weeks_papers_and_the_mail_links_to_it(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    for number in range(9):
        calendar.day(number)
    page = project.root / "site" / "archive" / "week-2027-03-22.html"
    html = page.read_text(encoding="utf-8")
    assert "The week to Monday, 22 March 2027" in html
    assert set(PAPER.findall(html)) == {(f"{d:02d}", str(k)) for d in range(2, 9) for k in range(3)}
    index = (project.root / "site" / "index.html").read_text(encoding="utf-8")
    assert "archive/week-2027-03-22.html" in index
    mail = (project.root / "outbox" / "new" / "week-2027-03-22-1.eml").read_text(encoding="utf-8")
    assert "https://digest.example.org/archive/week-2027-03-22.html" in mail


def test_a_big_week_stays_within_the_size_budget_and_leaves_the_rest_to_the_week_page(project: Project) -> None:
    from conftest import EXAMPLE_DUMPS

    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    for number, path in enumerate(EXAMPLE_DUMPS):  # 163 papers in three days
        project.drop(path)
        assert project.run("run", now=dt.datetime(2027, 3, 16 + number, 3, tzinfo=UTC)).code == ExitStatus.OK
    assert project.run("run", now=dt.datetime(2027, 3, 22, 7, tzinfo=UTC)).code == ExitStatus.OK
    data = (project.root / "outbox" / "new" / "week-2027-03-22-1.eml").read_bytes()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "163 new papers this week (2027-03-22)"
    html = message.get_body(("html",))
    assert isinstance(html, email.message.EmailMessage)
    content = html.get_content()
    assert len(content.encode("utf-8")) <= 100_000
    link = re.search(
        r'<a href="https://digest.example.org/archive/week-2027-03-22.html"[^>]*>…and (\d+) more papers in', content
    )
    assert link and int(link.group(1)) > 0
    assert (project.root / "site" / "archive" / "week-2027-03-22.html").exists()


def test_a_weekly_mail_the_server_did_not_take_is_sent_by_a_later_run_once(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    for number in range(8):
        calendar.day(number)
    monday = dt.datetime(2027, 3, 22, 7, tzinfo=UTC)
    planned = project.run("run", "--dry-run", now=monday).stdout
    assert "would queue this week's weekly mail for 1 weekly reader(s)" in planned
    project.environ["DIGEST_SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens there
    failed = project.run("run", now=monday)
    assert failed.code == ExitStatus.PARTIAL
    assert "weekly mails (week-2027-03-22): 1 delivery waits to be retried" in failed.stderr
    assert "would send 1 weekly mail(s) queued earlier" in project.run("run", "--dry-run", now=monday).stdout
    shown = project.run("deliveries", "--week", "2027-03-22").stdout
    assert shown.startswith("week 2027-03-22: 0 sent (0 uncertain), 0 failed, 1 queued"), shown
    unknown = project.run("deliveries", "--week", "2027-03-23")
    assert (
        unknown.code == ExitStatus.USAGE and "no weekly mails were queued for the week of 2027-03-23" in unknown.stderr
    )
    del project.environ["DIGEST_SMTP_URL"]
    calendar.day(9)  # Tuesday, long past the grace: the queued mail goes now, as it was queued
    calendar.day(10)
    mails = calendar.mails_of(1)
    assert sorted(mails) == ["week-2027-03-15-1.eml", "week-2027-03-22-1.eml"]
    assert mails["week-2027-03-22-1.eml"] == {f"D{d:02d}K{k}" for d in range(2, 8) for k in range(3)}
    assert project.run("deliveries", "--week", "2027-03-22").stdout.startswith("week 2027-03-22: 1 sent")


def test_the_scheduler_has_a_weekly_job_at_local_time_and_catches_up_within_the_grace(project: Project) -> None:
    from digest.mail.outbox import OutboxTransport
    from digest.schedule.scheduler import DigestScheduler
    from digest.store import open_store

    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    config = load_config(project.config, {})

    def scheduler_at(now: dt.datetime) -> DigestScheduler:
        return DigestScheduler(
            config,
            open_store=lambda: open_store(config.database, now=now),
            clock=lambda: now,
            secret=lambda: SECRET.encode(),
            transport=lambda: OutboxTransport(config.delivery.outbox),
        )

    sunday = dt.datetime(2027, 3, 28, 12, tzinfo=UTC)  # summer time began at 01:00 UTC
    jobs = {job.id: job for job in scheduler_at(sunday).build().get_jobs()}
    assert jobs["weekly"].trigger.get_next_fire_time(None, sunday) == dt.datetime(2027, 3, 29, 6, tzinfo=UTC)
    assert "weekly-missed" not in jobs
    # Started at 09:59 UTC on Monday 22 March, within three hours of 07:00: the week's mails are caught up.
    # (The daily send, due at the same time, was missed too: one catch-up pass does both.)
    catching_up = {"send-missed", "weekly-missed"}
    late = scheduler_at(dt.datetime(2027, 3, 22, 9, 59, tzinfo=UTC)).build()
    assert len(catching_up & {job.id for job in late.get_jobs()}) == 1
    too_late = scheduler_at(dt.datetime(2027, 3, 22, 10, 1, tzinfo=UTC)).build()
    assert not catching_up & {job.id for job in too_late.get_jobs()}
    # A weekly time of its own, missed while the daily send was not: its own catch-up.
    weekly_project(project, "  weekly: 'mon 09:00'\n")
    config = load_config(project.config, {})
    later = scheduler_at(dt.datetime(2027, 3, 22, 11, 59, tzinfo=UTC)).build()
    assert catching_up & {job.id for job in later.get_jobs()} == {"weekly-missed"}


def test_a_reader_who_leaves_before_a_queued_mail_goes_out_does_not_get_it(project: Project) -> None:
    weekly_project(project)
    for address, frequency in [("d@example.org", "daily"), ("w@example.org", "weekly")]:
        assert project.run("subscribers", "add", address, "--frequency", frequency).code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    for number in range(8):
        calendar.day(number)
    project.environ["DIGEST_SMTP_URL"] = "smtp://127.0.0.1:1"  # the server is down on Monday morning
    path = project.drop("", "day-08.txt", data=day_dump(8))
    os.utime(path, (dt.datetime(2027, 3, 22, 6, tzinfo=UTC).timestamp(),) * 2)
    assert project.run("run", now=dt.datetime(2027, 3, 22, 7, tzinfo=UTC)).code == ExitStatus.PARTIAL
    del project.environ["DIGEST_SMTP_URL"]
    for address in ("d@example.org", "w@example.org"):
        assert project.run("subscribers", "remove", address).code == ExitStatus.OK
    before = set(outbox(project))
    assert project.run("run", now=dt.datetime(2027, 3, 22, 8, tzinfo=UTC)).code == ExitStatus.OK
    assert set(outbox(project)) == before  # neither the daily nor the weekly mail went after all
    shown = project.run("deliveries", "--digest", "latest").stdout
    assert shown.startswith("digest 2027-03-22: 0 sent") and "2 skipped" in shown, shown


def test_a_week_whose_mail_is_still_queued_does_not_lend_its_papers_to_the_next(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 14))
    for number in range(8):
        calendar.day(number)
    project.environ["DIGEST_SMTP_URL"] = "smtp://127.0.0.1:1"  # down for a whole week
    for monday in (dt.datetime(2027, 3, 22, 7, tzinfo=UTC), dt.datetime(2027, 3, 29, 6, tzinfo=UTC)):
        if monday.day == 29:
            for number in range(8, 15):  # (the dumps of those days wait in the inbox)
                project.drop("", f"day-{number:02d}.txt", data=day_dump(number))
        assert project.run("run", now=monday).code == ExitStatus.PARTIAL
    del project.environ["DIGEST_SMTP_URL"]
    assert project.run("run", now=dt.datetime(2027, 3, 29, 12, tzinfo=UTC)).code == ExitStatus.OK
    mails = calendar.mails_of(1)
    assert sorted(mails) == [f"week-2027-03-{d}-1.eml" for d in (15, 22, 29)]
    assert mails["week-2027-03-22-1.eml"] == {f"D{d:02d}K{k}" for d in range(2, 8) for k in range(3)}
    assert mails["week-2027-03-29-1.eml"] == {f"D{d:02d}K{k}" for d in range(8, 15) for k in range(3)}


def _digest(digest_id: int, paper_ids: list[int]) -> Digest:
    day = dt.date(2027, 3, 14) + dt.timedelta(days=digest_id)
    at = dt.datetime.combine(day, dt.time(3), tzinfo=UTC)
    papers = tuple(
        StoredPaper(id=i, title=f"Paper {i}", abstract="", links=(), first_dump_id=digest_id, first_rank=rank,
                    first_seen_on=day, first_seen_at=at)
        for rank, i in enumerate(paper_ids, start=1)
    )  # fmt: skip
    return Digest(slug=day.isoformat(), date=day, papers=papers, seen_before=0, dump_dates=(day,),
                  first_dump_id=digest_id, last_dump_id=digest_id, published_at=at, id=digest_id)  # fmt: skip


def test_a_weeks_digest_takes_each_days_listing_in_turn() -> None:
    week = week_digest(dt.date(2027, 3, 22), [_digest(1, [11, 12, 13]), _digest(2, [21, 22])], published_at=NOW)
    assert [paper.id for paper in week.papers] == [21, 11, 22, 12, 13]  # the newest day's first
    assert week.slug == "week-2027-03-22" and week.weekly


@given(st.lists(st.lists(st.integers(1, 40), max_size=12), max_size=8))
def test_a_weeks_digest_holds_every_paper_of_its_days_once(days: list[list[int]]) -> None:
    digests = [_digest(number + 1, list(dict.fromkeys(ids))) for number, ids in enumerate(days)]
    week = week_digest(dt.date(2027, 3, 22), digests, published_at=NOW)
    ids = [paper.id for paper in week.papers]
    assert len(ids) == len(set(ids)) and set(ids) == {i for ids in days for i in ids}


@pytest.mark.postgres
def test_a_switch_to_daily_while_the_week_is_being_queued_waits_for_it(pg_project: Project) -> None:
    """The preferences page and the weekly queueing take the same lock: no paper comes twice."""
    import threading
    import time

    from digest.store import open_store

    weekly_project(pg_project)
    pg_project.environ["DIGEST_SECRET_KEY"] = SECRET
    assert pg_project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(pg_project, dt.date(2027, 3, 16))
    for number in range(6):  # Tuesday to Sunday: held for Monday's mail
        calendar.day(number)
    monday = dt.datetime(2027, 3, 22, 7, tzinfo=UTC)
    queueing, web = open_store(pg_project.database, now=monday), open_store(pg_project.database, now=monday)
    switch = threading.Thread(target=lambda: web.profiles.update(1, frequency="daily"))
    original = queueing.weekly._open_sets

    def switch_meanwhile(**where: object) -> list[tuple[int, set[int]]]:
        switch.start()  # the reader saves "every day" while the week's mails are being queued
        time.sleep(0.5)
        assert switch.is_alive()  # ...and waits for the queueing to finish
        return original(**where)  # type: ignore[arg-type]

    queueing.weekly._open_sets = switch_meanwhile  # type: ignore[method-assign]
    try:
        queueing.weekly.queue_week(monday.date(), due_at=monday, lookback=dt.timedelta(days=7), now=monday)
        switch.join(timeout=30)
    finally:
        queueing.close()
        web.close()
    calendar.run(monday + dt.timedelta(minutes=15))
    seen = Counter(paper for papers in calendar.mails_of(1).values() for paper in papers)
    assert seen == Counter(list(calendar.published))  # each once: in the weekly mail queued before the switch


def test_a_reader_who_comes_back_is_not_sent_what_was_new_before_they_left(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 16))  # a Tuesday
    for number in range(3):  # Tuesday to Thursday: held for Monday's mail
        calendar.day(number)
    assert project.run("subscribers", "remove", "w@example.org").code == ExitStatus.OK
    for number in range(3, 18):
        calendar.day(number)
    assert project.run("subscribers", "add", "w@example.org", "--frequency", "weekly").code == ExitStatus.OK
    for number in range(18, 27):
        calendar.day(number)
    seen = {paper for papers in calendar.mails_of(1).values() for paper in papers}
    # Back on Friday 2 April: their first mail (Monday 5) again looks back a week (to Tuesday 30 March), no further.
    assert seen == {f"D{d:02d}K{k}" for d in range(14, 21) for k in range(3)}


def test_a_new_weekly_reader_gets_a_digest_published_after_the_week_was_queued(project: Project) -> None:
    weekly_project(project)
    assert project.run("subscribers", "add", "old@example.org", "--frequency", "weekly").code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 16))
    for number in range(6):  # Tuesday to Sunday
        calendar.day(number)
    calendar.run(dt.datetime(2027, 3, 22, 7, tzinfo=UTC))  # the week is queued
    calendar.day(6, at=dt.time(7, 10), runs=[dt.time(7, 15)])  # Monday's dump, late: after the week's cut
    new = project.run("subscribers", "add", "new@example.org", "--frequency", "weekly", now=calendar.last)
    assert new.code == ExitStatus.OK
    calendar.run(dt.datetime(2027, 3, 22, 7, 30, tzinfo=UTC))  # within the grace: the newcomer's first mail
    for number in range(7, 16):
        calendar.day(number)
    for reader in (1, 2):
        seen = Counter(paper for papers in calendar.mails_of(reader).values() for paper in papers)
        assert set(seen.values()) == {1} and "D06K0" in seen  # Monday's papers: in next week's mail


def test_the_schedulers_weekly_job_sends_weekly_mails_only(project: Project) -> None:
    """With send on weekdays and weekly readers on Sundays, Sunday brings no daily mail and ingests nothing."""
    from digest.mail.outbox import OutboxTransport
    from digest.schedule.scheduler import DigestScheduler
    from digest.store import open_store

    weekly_project(project, "  weekly: sun\n")
    text = project.config.read_text(encoding="utf-8").replace("'0 7 * * *'", "'0 7 * * 1-5'")
    project.config.write_text(text, encoding="utf-8")
    for address, frequency in [("d@example.org", "daily"), ("w@example.org", "weekly")]:
        assert project.run("subscribers", "add", address, "--frequency", frequency).code == ExitStatus.OK
    calendar = Calendar(project, dt.date(2027, 3, 15))  # a Monday
    for number in range(5):  # to Friday
        calendar.day(number)
    project.drop("", "saturday.txt", data=day_dump(5))  # waits in the inbox for Monday's send
    sunday = dt.datetime(2027, 3, 21, 7, tzinfo=UTC)
    config = load_config(project.config, {})
    scheduler = DigestScheduler(
        config,
        open_store=lambda: open_store(config.database, now=sunday),
        clock=lambda: sunday,
        secret=lambda: SECRET.encode(),
        transport=lambda: OutboxTransport(config.delivery.outbox),
    )
    before = set(calendar.mails_of(1))
    scheduler.weekly()
    assert set(calendar.mails_of(1)) == before  # no daily mail on Sunday
    assert list(calendar.mails_of(2)) == ["week-2027-03-21-2.eml"]
    assert (project.inbox / "saturday.txt").exists()  # not ingested: that is Monday's send's work
