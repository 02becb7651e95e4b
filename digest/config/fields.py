"""Reading schedule.yaml's values: one converter per kind of value, each naming the key it reads.

Every converter takes (source, key, value) and returns the value or raises a
:class:`ConfigError` that names the file, the key and what is expected.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import SplitResult, parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import ConfigError

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
ON_ARRIVAL = "on-arrival"
T = TypeVar("T")
_MISSING: Any = object()


class Section:
    """Reads the keys of one mapping and reports unknown ones by name."""

    def __init__(self, source: str, prefix: str, data: object) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(source, prefix or "(top level)", f"expected a mapping of keys, got {kind_of(data)}")
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

    def section(self, name: str) -> Section:
        self.read.add(name)
        return Section(self.source, self.key(name), self.data.get(name))

    def retired(self, name: str, hint: str) -> None:
        """A key this version no longer reads: an error that says what replaced it."""
        self.read.add(name)
        if name in self.data:
            raise ConfigError(self.source, self.key(name), "is no longer used", hint=hint)

    def finish(self) -> None:
        for name in self.data:
            if name not in self.read:
                close = difflib.get_close_matches(str(name), sorted(self.read), n=1)
                suggestion = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(self.read))}"
                raise ConfigError(self.source, self.key(str(name)), f"unknown key ({suggestion})")


def kind_of(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number"}.get(
        type(value), type(value).__name__
    ) + (f" {value!r}" if isinstance(value, str | int | float) and not isinstance(value, bool) else "")


def as_text(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, key, f"expected non-empty text, got {kind_of(value)}")
    return value.strip()


def as_rate(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(source, key, f"expected messages per second (0 for no limit), got {kind_of(value)}")
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
        raise ConfigError(source, key, f"expected a whole number of at least 1, got {kind_of(value)}")
    return value


#: Longer durations are typing mistakes (and overflow the clock arithmetic).
MAX_DURATION = dt.timedelta(days=3660)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def as_duration(source: str, key: str, value: Any) -> dt.timedelta:
    """A positive duration: seconds as a number, or text such as "90s", "5m", "1h30m", "2d"."""
    expected = 'a positive duration such as 30, "90s", "5m", "1h30m" or "2d"'
    if isinstance(value, bool):
        raise ConfigError(source, key, f"expected {expected}, got {kind_of(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(f"{n}{u}" for n, u in parts) != text:
            raise ConfigError(source, key, f"expected {expected}, got {value!r}")
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise ConfigError(source, key, f"expected {expected}, got {kind_of(value)}")
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
            source, key, f"expected a list of addresses or networks such as ['10.0.0.0/8'], got {kind_of(value)}"
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


def path_under(base: Path) -> Callable[[str, str, Any], Path]:
    def as_path(source: str, key: str, value: Any) -> Path:
        return (base / as_text(source, key, value)).expanduser().resolve()

    return as_path


def database_url(base: Path, *, allow_password: bool = False) -> Callable[[str, str, Any], str]:
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
    url = as_http_url(source, key, value)
    return url if url.endswith("/") else url + "/"


def as_address(source: str, key: str, value: Any) -> str:
    text = as_text(source, key, value)
    if "@" not in text or "\n" in text or "\r" in text:
        raise ConfigError(source, key, f"expected an email address such as 'Digest <digest@example.org>', got {text!r}")
    return text


def as_subject(source: str, key: str, value: Any) -> str:
    text = as_text(source, key, value)
    try:
        text.format(date=dt.date(2000, 1, 1), count=1, papers="paper")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            source,
            key,
            f"bad subject template {text!r} ({exc}); use the placeholders {{date}}, {{count}} and {{papers}}",
        ) from None
    return text


def cron_expression(timezone: ZoneInfo) -> Callable[[str, str, Any], str]:
    def as_cron(source: str, key: str, value: Any) -> str:
        text = as_text(source, key, value)
        if text == ON_ARRIVAL:
            return text
        from digest.cron import crontab_trigger, surely_fires

        if surely_fires(text):  # the usual case, told without importing the scheduler library
            return text
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


def unique_key_loader() -> type:
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


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def as_size(source: str, key: str, value: Any) -> int:
    """A size in bytes: a number, or text such as "500KB", "20MB"."""
    expected = "a size such as 20MB, 500KB or a number of bytes"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(source, key, f"expected {expected}, got {kind_of(value)}")
    match = _SIZE.fullmatch(str(value).strip())
    if match is None:
        raise ConfigError(source, key, f"expected {expected}, got {value!r}")
    size = int(float(match[1]) * _SIZE_UNITS[(match[2] or "b").lower()])
    if size < 1:
        raise ConfigError(source, key, f"expected {expected}, got {value!r} (it must be more than zero)")
    return size


def as_source_name(source: str, key: str, value: Any) -> str:
    name = as_text(source, key, value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise ConfigError(source, key, f"expected a short name of letters, digits, '-' and '_', got {name!r}")
    return name


def as_http_url(source: str, key: str, value: Any) -> str:
    url = as_text(source, key, value)
    parts = _split_url(source, key, url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(
            source, key, f"expected an absolute http(s) URL such as https://example.org/digest/, got {url!r}"
        )
    return url
