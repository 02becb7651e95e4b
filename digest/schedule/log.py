"""The scheduler's log lines: one line per job outcome, and a busy job said once."""

from __future__ import annotations

import logging

from digest.pipeline import RunReport


def describe(report: RunReport) -> str:
    """A run's outcome as key=value pairs for one log line."""
    parts = [
        *(
            f"fetch[{r.name}]={r.status}" + (f" fetch_error[{r.name}]={r.reason!r}" if r.reason else "")
            for r in report.fetched
        ),
        f"ingested={sum(r.status == 'ingested' for r in report.ingested)}",
        f"duplicates={sum(r.status == 'duplicate' for r in report.ingested)}",
        f"rejected={len(report.rejected)}",
    ]
    dumps = [r.file for r in report.ingested if r.status == "ingested"]
    if dumps:
        parts.append(f"dumps={','.join(dumps)}")
    if report.digest is not None:
        parts.append(f"digest={report.digest.id} slug={report.digest.slug} papers={report.digest.new_count}")
    for send in report.sends:
        name = send.digest_id or send.slug  # (a week's mails have no digest of their own)
        parts.append(f"sent[{name}]={send.sent} failed[{name}]={send.failed} deferred[{name}]={send.deferred}")
    return " ".join(parts)


class BusyJobNotice(logging.Filter):
    """APScheduler's "maximum number of running instances reached", once per busy spell, in our words.

    While a long send runs, every poll that comes due is skipped, and APScheduler
    says so each time. The first skip of a job is logged as one ``job=`` line;
    the rest are dropped until that job has run again.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reported: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" not in str(record.msg):
            return True
        job = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        name = job.split(" (", 1)[0]
        if name in self.reported:
            return False
        self.reported.add(name)
        record.msg, record.args = "job=%s outcome=skipped reason=busy (the previous job is still running)", (name,)
        return True

    def ran(self, job: str) -> None:
        self.reported.discard(job)
