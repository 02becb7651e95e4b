"""schedule.yaml + environment -> one validated, frozen :class:`Config`. Part of the base.

Every problem is a :class:`ConfigError` that names the file, the key and what
is expected. Relative paths are relative to the config file. Secrets come only
from the environment (see :data:`ENVIRONMENT`). Each kind of value is read by a
converter of :mod:`digest.config.fields`.

May import: the rest of the base (errors, cron, weekly); no stage, no store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from digest.config.fields import (
    ON_ARRIVAL,
    Section,
    as_address,
    as_duration,
    as_duration_or_zero,
    as_http_url,
    as_list_id,
    as_networks,
    as_positive_int,
    as_rate,
    as_site_url,
    as_size,
    as_smtp_url,
    as_source_name,
    as_subject,
    as_text,
    as_timezone,
    cron_expression,
    database_url,
    kind_of,
    path_under,
    unique_key_loader,
)
from digest.config.mailing import DkimConfig, as_bounce_address, as_dkim
from digest.errors import ConfigError
from digest.weekly import WeeklyTime, daily_time, parse_weekly

_SEVEN = dt.time(7)  # the weekly send time when schedule.send has no single time of day
MONDAY_SEVEN = WeeklyTime(0, _SEVEN)

#: Environment variables digest reads, and what for.
ENVIRONMENT = {
    "DIGEST_CONFIG": "path of schedule.yaml when --config is not given",
    "DIGEST_DATABASE_URL": "database URL; overrides 'database' (use it when the URL holds a password)",
    "DIGEST_SMTP_URL": "SMTP server: smtp://host:25, smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465;"
    " unset: messages are written to the outbox folder",
    "DIGEST_SECRET_KEY": "key that signs unsubscribe and confirm links (32 characters or more)",
    "DIGEST_DKIM_KEY": "the DKIM private key itself (PEM); overrides delivery.dkim.key_file",
}


@dataclass(frozen=True, slots=True)
class SiteConfig:
    dir: Path
    url: str  # absolute, ends with "/"
    title: str
    subscribe_url: str | None = None  # the subscribe page, when `digest serve` runs (a 'web' section is configured)


@dataclass(frozen=True, slots=True)
class EmailConfig:
    sender: str
    subject: str  # a template with {date} and {count}
    for_you: int  # papers shown in full at the top of each mail; every other one is a compact line
    weekly_subject: str = "{count} new {papers} this week ({date})"
    weekly_for_you: int = 20  # For you in a weekly mail
    list_id: str = "digest.localhost"
    unsubscribe_mailto: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    outbox: Path
    connections: int
    rate: float  # messages per second over all connections; 0: no limit
    timeout: dt.timedelta  # connecting, and each SMTP command
    data_timeout: dt.timedelta  # the answer to a message's final "." (RFC 5321 allows 10 minutes)
    retries: int  # tries of a temporarily failing message within one run
    bounce_limit: int  # permanent failures before a subscriber is marked bounced
    claim_timeout: dt.timedelta
    smtp_url: str | None  # from DIGEST_SMTP_URL; None: write to the outbox
    bounce_window: dt.timedelta = dt.timedelta(days=14)  # returned failures further apart start the count afresh
    bounce_address: str | None = None  # each message's envelope sender is LOCAL+TOKEN@DOMAIN (VERP)
    dkim: DkimConfig | None = None  # every message is signed when set


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    poll: dt.timedelta
    send: str  # a crontab expression, or "on-arrival"
    misfire_grace: dt.timedelta
    weekly: WeeklyTime = MONDAY_SEVEN  # weekly readers' send day and time

    @property
    def on_arrival(self) -> bool:
        return self.send == ON_ARRIVAL


@dataclass(frozen=True, slots=True)
class WebConfig:
    confirm_max_age: dt.timedelta  # how long a confirmation link works
    subscribe_per_ip: int  # subscribe posts an address may make per hour
    subscribe_per_address: int  # confirmation mails one address may get per day
    max_body: int  # largest request body accepted, in bytes
    header_timeout: dt.timedelta  # how long a client may take to send its request headers
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]  # their X-Forwarded-For is believed


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """A listing fetched from a URL into the inbox (``digest fetch``, and before every run)."""

    name: str  # letters, digits, "-" and "_": it names the fetched files
    url: str
    timeout: dt.timedelta
    max_size: int  # bytes; reading stops past this


@dataclass(frozen=True, slots=True)
class Config:
    source: Path
    timezone: ZoneInfo
    inbox: Path
    inbox_settle: dt.timedelta  # inbox files modified more recently than this wait for a later pass
    rejected: Path  # where rejected dumps are set aside (default: inbox/rejected)
    preview: Path  # where `digest preview` writes unless told otherwise
    database: str
    templates: Path | None
    site: SiteConfig
    email: EmailConfig
    schedule: ScheduleConfig
    delivery: DeliveryConfig
    web: WebConfig
    sources: tuple[SourceConfig, ...] = ()


def as_sources(source: str, key: str, value: Any) -> tuple[SourceConfig, ...]:
    """The ``sources`` list: each entry a mapping with ``url`` and ``name``, optionally ``timeout`` and ``max_size``."""
    if not isinstance(value, list):
        raise ConfigError(source, key, f"expected a list of sources (each with url and name), got {kind_of(value)}")
    sources = []
    for number, item in enumerate(value, start=1):
        entry = Section(source, f"{key}[{number}]", item)
        sources.append(
            SourceConfig(
                name=entry.take("name", as_source_name),
                url=entry.take("url", as_http_url),
                timeout=entry.take("timeout", as_duration, "30s"),
                max_size=entry.take("max_size", as_size, "20MB"),
            )
        )
        entry.finish()
    names = [item.name for item in sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(source, key, f"the name {name!r} is given to two sources; each needs its own")
    return tuple(sources)


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read and validate ``path``; environment variables override where documented."""
    import yaml

    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source, "", "no such file", hint="pass --config PATH or copy schedule.yaml from the project"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"cannot read the file ({exc})") from None
    try:
        data = yaml.load(text, Loader=unique_key_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, "", f"not valid YAML ({where}{problem})") from None
    base = path.resolve().parent
    top = Section(source, "", data)
    timezone = top.take("timezone", as_timezone, "UTC")
    inbox = top.take("inbox", path_under(base), "inbox")
    inbox_settle = top.take("inbox_settle", as_duration_or_zero, "5s")
    rejected = top.take("rejected", path_under(base), None) or inbox / "rejected"
    preview = top.take("preview", path_under(base), "preview")
    database = top.take("database", database_url(base), "sqlite:///digest.db")
    if environ.get("DIGEST_DATABASE_URL"):
        from_environment = database_url(Path.cwd(), allow_password=True)
        database = from_environment("environment", "DIGEST_DATABASE_URL", environ["DIGEST_DATABASE_URL"])
    templates = top.take("templates", path_under(base), None)

    site_section = top.section("site")
    site = SiteConfig(
        dir=site_section.take("dir", path_under(base), "site"),
        url=site_section.take("url", as_site_url),
        title=site_section.take("title", as_text, "Trending papers"),
    )
    site_section.finish()

    email_section = top.section("email")
    email_section.retired(
        "max_papers", "every new paper is now in every mail; 'for_you' sets how many are shown in full (default 10)"
    )
    email = EmailConfig(
        sender=email_section.take("from", as_address, "Paper digest <digest@localhost>"),
        subject=email_section.take("subject", as_subject, "{count} new {papers} for {date}"),
        for_you=email_section.take("for_you", as_positive_int, 10),
        list_id=email_section.take("list_id", as_list_id, f"digest.{urlsplit(site.url).hostname}"),
        unsubscribe_mailto=email_section.take("unsubscribe_mailto", as_address, None),
        weekly_subject=email_section.take("weekly_subject", as_subject, "{count} new {papers} this week ({date})"),
        weekly_for_you=email_section.take("weekly_for_you", as_positive_int, 20),
    )
    email_section.finish()

    schedule_section = top.section("schedule")
    send = schedule_section.take("send", cron_expression(timezone), "0 7 * * *")
    schedule = ScheduleConfig(
        poll=schedule_section.take("poll", as_duration, "5m"),
        send=send,
        misfire_grace=schedule_section.take("misfire_grace", as_duration, "3h"),
        weekly=schedule_section.take("weekly", weekly_time(send), None) or WeeklyTime(0, daily_time(send) or _SEVEN),
    )
    schedule_section.finish()

    delivery_section = top.section("delivery")
    delivery = DeliveryConfig(
        outbox=delivery_section.take("outbox", path_under(base), "outbox"),
        connections=delivery_section.take("connections", as_positive_int, 1),
        rate=delivery_section.take("rate", as_rate, 20),
        timeout=delivery_section.take("timeout", as_duration, "30s"),
        data_timeout=delivery_section.take("data_timeout", as_duration, "10m"),
        retries=delivery_section.take("retries", as_positive_int, 3),
        bounce_limit=delivery_section.take("bounce_limit", as_positive_int, 3),
        claim_timeout=delivery_section.take("claim_timeout", as_duration, "10m"),
        smtp_url=as_smtp_url("environment", "DIGEST_SMTP_URL", environ["DIGEST_SMTP_URL"])
        if environ.get("DIGEST_SMTP_URL")
        else None,
        bounce_window=delivery_section.take("bounce_window", as_duration, "14d"),
        bounce_address=delivery_section.take("bounce_address", as_bounce_address, None),
        dkim=delivery_section.take("dkim", as_dkim(base, environ), None),
    )
    delivery_section.finish()
    if delivery.dkim is None and environ.get("DIGEST_DKIM_KEY"):
        raise ConfigError(
            source, "delivery.dkim", "is missing, but DIGEST_DKIM_KEY is set", hint="give its domain and selector"
        )

    web_section = top.section("web")
    web = WebConfig(
        confirm_max_age=web_section.take("confirm_max_age", as_duration, "7d"),
        subscribe_per_ip=web_section.take("subscribe_per_ip", as_positive_int, 20),
        subscribe_per_address=web_section.take("subscribe_per_address", as_positive_int, 3),
        max_body=web_section.take("max_body", as_positive_int, 16384),
        header_timeout=web_section.take("header_timeout", as_duration, "10s"),
        trusted_proxies=web_section.take("trusted_proxies", as_networks, []),
    )
    web_section.finish()
    if "web" in top.data:  # the archive's pages link the subscribe form that `digest serve` offers
        site = dataclasses.replace(site, subscribe_url=f"{site.url}subscribe")
    sources = top.take("sources", as_sources, [])
    top.finish()
    return Config(
        source=path.resolve(),
        timezone=timezone,
        inbox=inbox,
        inbox_settle=inbox_settle,
        rejected=rejected,
        preview=preview,
        database=database,
        templates=templates,
        site=site,
        email=email,
        schedule=schedule,
        delivery=delivery,
        web=web,
        sources=sources,
    )


def weekly_time(send: str) -> Any:
    """schedule.weekly: a weekday, at schedule.send's time of day unless a time is given ("mon 07:00")."""

    def as_weekly(source: str, key: str, value: Any) -> WeeklyTime:
        text = as_text(source, key, value)
        try:
            return parse_weekly(text, daily_time(send))
        except ValueError as exc:
            raise ConfigError(source, key, str(exc)) from None

    return as_weekly
