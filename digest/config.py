"""schedule.yaml + environment -> one validated, frozen :class:`Config`.

Every problem is a :class:`ConfigError` that names the file, the key and what
is expected. Relative paths are relative to the config file. Secrets come only
from the environment (see :data:`ENVIRONMENT`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import SplitResult, parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import ConfigError

#: Environment variables digest reads, and what for.
ENVIRONMENT = {
    "DIGEST_CONFIG": "path of schedule.yaml when --config is not given",
    "DIGEST_DATABASE_URL": "database URL; overrides 'database' (use it when the URL holds a password)",
    "DIGEST_SMTP_URL": "SMTP server: smtp://host:25, smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465;"
    " unset: messages are written to the outbox folder",
    "DIGEST_SECRET_KEY": "key that signs unsubscribe and confirm links (32 characters or more)",
}

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")

ON_ARRIVAL = "on-arrival"
T = TypeVar("T")
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class SiteConfig:
    dir: Path
    url: str  # absolute, ends with "/"
    title: str


@dataclass(frozen=True, slots=True)
class EmailConfig:
    sender: str
    subject: str  # a template with {date} and {count}
    max_papers: int
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


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    poll: dt.timedelta
    send: str  # a crontab expression, or "on-arrival"
    misfire_grace: dt.timedelta

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


class _Section:
    """Reads the keys of one mapping and reports unknown ones by name."""

    def __init__(self, source: str, prefix: str, data: object) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(source, prefix or "(top level)", f"expected a mapping of keys, got {_kind(data)}")
        self.source = source
        self.prefix = prefix
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def take(self, name: str, convert: Callable[[str, str, Any], T], default: Any = _MISSING) -> T:
        self.read.add(name)
        if name not in self.data or self.data[name] is None:
            if default is _MISSING:
                raise ConfigError(self.source, self.key(name), "is required but missing")
            if default is None:
                return cast(T, None)
            return convert(self.source, self.key(name), default)
        return convert(self.source, self.key(name), self.data[name])

    def section(self, name: str) -> _Section:
        self.read.add(name)
        return _Section(self.source, self.key(name), self.data.get(name))

    def finish(self) -> None:
        for name in self.data:
            if name not in self.read:
                close = difflib.get_close_matches(str(name), sorted(self.read), n=1)
                suggestion = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(self.read))}"
                raise ConfigError(self.source, self.key(str(name)), f"unknown key ({suggestion})")


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number"}.get(
        type(value), type(value).__name__
    ) + (f" {value!r}" if isinstance(value, str | int | float) and not isinstance(value, bool) else "")


def as_text(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, key, f"expected non-empty text, got {_kind(value)}")
    return value.strip()


def as_rate(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(source, key, f"expected messages per second (0 for no limit), got {_kind(value)}")
    return float(value)


def as_list_id(source: str, key: str, value: Any) -> str:
    text = as_text(source, key, value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9-]+", text):
        raise ConfigError(source, key, f"expected a dotted list id such as 'papers.example.org', got {text!r}")
    return text


def as_smtp_url(source: str, key: str, value: Any) -> str:
    url = as_text(source, key, value)
    parts = _split_url(source, key, url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ConfigError(
            source,
            key,
            f"expected smtp://HOST[:PORT], smtp+starttls://USER:PASS@HOST:587 or smtps://..., got"
            f" {parts.scheme or 'no scheme'}://...",
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(source, key, "has a bad port number") from None
    options = parse_qs(parts.query, keep_blank_values=True)
    for name in sorted(set(options) - {"cafile", "verify"}):
        raise ConfigError(source, key, f"unknown option {name!r}; the options are cafile=PATH and verify=off")
    if "cafile" in options and not Path(options["cafile"][-1]).is_file():
        raise ConfigError(source, key, f"cafile {options['cafile'][-1]!r} is not a readable file")
    if options.get("verify", ["on"])[-1].lower() not in ("on", "off", "yes", "no", "true", "false", "1", "0"):
        raise ConfigError(source, key, "verify takes on or off")
    return url


def _split_url(source: str, key: str, url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise ConfigError(source, key, f"is not a valid URL ({exc})") from None


def as_positive_int(source: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(source, key, f"expected a whole number of at least 1, got {_kind(value)}")
    return value


#: Longer durations are typing mistakes (and overflow the clock arithmetic).
MAX_DURATION = dt.timedelta(days=3660)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def as_duration(source: str, key: str, value: Any) -> dt.timedelta:
    """A positive duration: seconds as a number, or text such as "90s", "5m", "1h30m", "2d"."""
    expected = 'a positive duration such as 30, "90s", "5m", "1h30m" or "2d"'
    if isinstance(value, bool):
        raise ConfigError(source, key, f"expected {expected}, got {_kind(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(f"{n}{u}" for n, u in parts) != text:
            raise ConfigError(source, key, f"expected {expected}, got {value!r}")
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise ConfigError(source, key, f"expected {expected}, got {_kind(value)}")
    if seconds <= 0:
        raise ConfigError(source, key, f"expected {expected}, got {value!r} (it must be more than zero)")
    if seconds > MAX_DURATION.total_seconds():
        raise ConfigError(source, key, f"expected {expected}, got {value!r} (at most {MAX_DURATION.days} days)")
    return dt.timedelta(seconds=seconds)


def as_duration_or_zero(source: str, key: str, value: Any) -> dt.timedelta:
    """A duration as :func:`as_duration` reads it, or zero (0, "0s") to switch something off."""
    if value in (0, "0", "0s") and not isinstance(value, bool):
        return dt.timedelta(0)
    return as_duration(source, key, value)


def as_networks(source: str, key: str, value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A list of IP addresses or networks: ["127.0.0.1", "10.0.0.0/8", "::1"]."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ConfigError(
            source, key, f"expected a list of addresses or networks such as ['10.0.0.0/8'], got {_kind(value)}"
        )
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ConfigError(source, key, f"{item!r} is not an IP address or network such as '10.0.0.0/8'") from None
    return tuple(networks)


def as_timezone(source: str, key: str, value: Any) -> ZoneInfo:
    name = as_text(source, key, value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            source, key, f"unknown timezone {name!r}; expected an IANA name such as 'Europe/London' or 'UTC'"
        ) from None


def _path_under(base: Path) -> Callable[[str, str, Any], Path]:
    def as_path(source: str, key: str, value: Any) -> Path:
        return (base / as_text(source, key, value)).expanduser().resolve()

    return as_path


def _database_url(base: Path, *, allow_password: bool = False) -> Callable[[str, str, Any], str]:
    def as_database_url(source: str, key: str, value: Any) -> str:
        url = as_text(source, key, value)
        scheme = _split_url(source, key, url).scheme.lower()
        if scheme == "sqlite":
            rest = url.split(":", 1)[1]
            if rest in {"//", "///:memory:"}:
                return "sqlite://"
            if not rest.startswith("///"):
                raise ConfigError(source, key, f"bad SQLite URL {url!r}; expected sqlite:///relative/path.db")
            return "sqlite:///" + str((base / rest[3:]).expanduser().resolve())
        if scheme in {"postgresql", "postgres"}:
            if urlsplit(url).password and not allow_password:
                raise ConfigError(
                    source, key, "holds a password", hint="put the URL in the DIGEST_DATABASE_URL environment variable"
                )
            return url
        raise ConfigError(source, key, f"expected sqlite:///PATH or postgresql://HOST/DB, got {url!r}")

    return as_database_url


def as_site_url(source: str, key: str, value: Any) -> str:
    url = as_text(source, key, value)
    parts = _split_url(source, key, url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(
            source, key, f"expected an absolute http(s) URL such as https://example.org/digest/, got {url!r}"
        )
    return url if url.endswith("/") else url + "/"


def as_address(source: str, key: str, value: Any) -> str:
    text = as_text(source, key, value)
    if "@" not in text or "\n" in text or "\r" in text:
        raise ConfigError(source, key, f"expected an email address such as 'Digest <digest@example.org>', got {text!r}")
    return text


def as_subject(source: str, key: str, value: Any) -> str:
    text = as_text(source, key, value)
    try:
        text.format(date=dt.date(2000, 1, 1), count=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            source, key, f"bad subject template {text!r} ({exc}); use the placeholders {{date}} and {{count}}"
        ) from None
    return text


def _cron(timezone: ZoneInfo) -> Callable[[str, str, Any], str]:
    def as_cron(source: str, key: str, value: Any) -> str:
        text = as_text(source, key, value)
        if text == ON_ARRIVAL:
            return text
        from digest.cron import crontab_trigger

        try:
            trigger = crontab_trigger(text, timezone)
        except ValueError as exc:
            raise ConfigError(
                source,
                key,
                f"bad cron expression {text!r} ({exc}); expected five fields such as '0 7 * * *', or 'on-arrival'",
            ) from None
        if trigger.get_next_fire_time(None, dt.datetime(2000, 1, 1, tzinfo=timezone)) is None:
            raise ConfigError(source, key, f"the cron expression {text!r} never fires (no such day in any year)")
        return text

    return as_cron


def _unique_key_loader() -> type:
    """A YAML SafeLoader that refuses a key given twice in one mapping (the second would win in silence)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[object] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


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
        data = yaml.load(text, Loader=_unique_key_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, "", f"not valid YAML ({where}{problem})") from None
    base = path.resolve().parent
    top = _Section(source, "", data)
    timezone = top.take("timezone", as_timezone, "UTC")
    inbox = top.take("inbox", _path_under(base), "inbox")
    inbox_settle = top.take("inbox_settle", as_duration_or_zero, "5s")
    rejected = top.take("rejected", _path_under(base), None) or inbox / "rejected"
    preview = top.take("preview", _path_under(base), "preview")
    database = top.take("database", _database_url(base), "sqlite:///digest.db")
    if environ.get("DIGEST_DATABASE_URL"):
        from_environment = _database_url(Path.cwd(), allow_password=True)
        database = from_environment("environment", "DIGEST_DATABASE_URL", environ["DIGEST_DATABASE_URL"])
    templates = top.take("templates", _path_under(base), None)

    site_section = top.section("site")
    site = SiteConfig(
        dir=site_section.take("dir", _path_under(base), "site"),
        url=site_section.take("url", as_site_url),
        title=site_section.take("title", as_text, "Trending papers"),
    )
    site_section.finish()

    email_section = top.section("email")
    email = EmailConfig(
        sender=email_section.take("from", as_address, "Paper digest <digest@localhost>"),
        subject=email_section.take("subject", as_subject, "{count} new papers for {date}"),
        max_papers=email_section.take("max_papers", as_positive_int, 40),
        list_id=email_section.take("list_id", as_list_id, f"digest.{urlsplit(site.url).hostname}"),
        unsubscribe_mailto=email_section.take("unsubscribe_mailto", as_address, None),
    )
    email_section.finish()

    schedule_section = top.section("schedule")
    schedule = ScheduleConfig(
        poll=schedule_section.take("poll", as_duration, "5m"),
        send=schedule_section.take("send", _cron(timezone), "0 7 * * *"),
        misfire_grace=schedule_section.take("misfire_grace", as_duration, "3h"),
    )
    schedule_section.finish()

    delivery_section = top.section("delivery")
    delivery = DeliveryConfig(
        outbox=delivery_section.take("outbox", _path_under(base), "outbox"),
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
    )
    delivery_section.finish()

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
    )
