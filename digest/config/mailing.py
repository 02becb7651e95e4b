"""The delivery keys that concern returned mail and signatures: ``delivery.bounce_address`` and ``delivery.dkim``.

The DKIM key is checked when the configuration is read, so that a missing, unreadable or exposed key stops
every command at start (exit 2) instead of failing at the first message; it is parsed as a key when a send
starts, before its first message.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.config.fields import Section, as_text, kind_of, path_under
from digest.errors import ConfigError

#: The longest local part of delivery.bounce_address: "+" and the return token take the rest of the 64 allowed.
MAX_BOUNCE_LOCAL_PART = 20
#: A DKIM private key is a few kilobytes of PEM; anything much larger is not one.
MAX_KEY_SIZE = 16 * 1024
_LOCAL_PART = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")
_SELECTOR = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*")
_PEM = re.compile(rb"-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----")
KEY_HINT = "create one with: openssl genrsa -out dkim.pem 2048 && chmod 600 dkim.pem"


@dataclass(frozen=True, slots=True)
class DkimConfig:
    """What signs every message: the signing domain (d=), the selector (s=) and the private key (PEM)."""

    domain: str
    selector: str
    key: bytes = field(repr=False)
    key_source: str  # where the key came from, for messages: the file, or DIGEST_DKIM_KEY


def as_bounce_address(source: str, key: str, value: Any) -> str:
    """A plain address (``bounces@example.org``) whose local part leaves room for ``+TOKEN``."""
    text = as_text(source, key, value).strip()
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or not _DOMAIN.fullmatch(domain.lower()):
        raise ConfigError(
            source,
            key,
            f"expected a plain address such as bounces@example.org (letters, digits, '.', '-', '_'), got {text!r}",
        )
    if len(local) > MAX_BOUNCE_LOCAL_PART:
        raise ConfigError(
            source,
            key,
            f"the part before '@' is {len(local)} characters; at most {MAX_BOUNCE_LOCAL_PART}, so that"
            " '+' and the return token fit in the 64 an address allows",
        )
    return f"{local}@{domain.lower()}"


def as_dkim(base: Path, environ: Mapping[str, str]) -> Any:
    """``delivery.dkim``: a mapping of domain, selector and key_file (the key may come from DIGEST_DKIM_KEY)."""

    def convert(source: str, key: str, value: Any) -> DkimConfig:
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"expected a mapping of domain, selector and key_file, got {kind_of(value)}")
        section = Section(source, key, value)
        domain = section.take("domain", _matching(_DOMAIN, "a domain such as example.org"))
        selector = section.take("selector", _matching(_SELECTOR, "a selector such as digest2026"))
        key_file = section.take("key_file", path_under(base), None)
        section.finish()
        from_environment = environ.get("DIGEST_DKIM_KEY", "")
        if from_environment:
            pem = from_environment.replace("\\n", "\n").encode("utf-8", "replace")
            _check_pem("environment", "DIGEST_DKIM_KEY", pem)
            return DkimConfig(domain, selector, pem, "DIGEST_DKIM_KEY")
        if key_file is None:
            raise ConfigError(
                source,
                f"{key}.key_file",
                "is required (or set DIGEST_DKIM_KEY to the key itself)",
                hint=KEY_HINT,
            )
        return DkimConfig(domain, selector, read_key_file(source, f"{key}.key_file", key_file), str(key_file))

    return convert


def read_key_file(source: str, key: str, path: Path) -> bytes:
    """The key file's bytes; a ConfigError when it is missing, unreadable, open to others or not a key."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ConfigError(source, key, f"{path} does not exist", hint=KEY_HINT) from None
    except OSError as exc:
        raise ConfigError(source, key, f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError(source, key, f"{path} is not a file", hint=KEY_HINT)
    if status.st_mode & (stat.S_IRWXO | stat.S_IWGRP):
        raise ConfigError(
            source,
            key,
            f"{path} is open to others (mode {stat.filemode(status.st_mode)}): anyone who reads the key can sign"
            " mail as your domain",
            hint=f"chmod 600 {path}",
        )
    try:
        with path.open("rb") as handle:
            pem = handle.read(MAX_KEY_SIZE + 1)
    except OSError as exc:
        raise ConfigError(
            source,
            key,
            f"cannot read {path}: {exc.strerror or exc}",
            hint="make it readable by the user digest runs as",
        ) from None
    _check_pem(source, key, pem)
    return pem


def _check_pem(source: str, key: str, pem: bytes) -> None:
    if len(pem) > MAX_KEY_SIZE or not _PEM.search(pem):
        raise ConfigError(source, key, "does not hold a private key in PEM form", hint=KEY_HINT)
    if b"ENCRYPTED PRIVATE KEY" in pem or b"Proc-Type: 4,ENCRYPTED" in pem:
        raise ConfigError(
            source,
            key,
            "holds a key protected by a passphrase, which nothing can type at send time",
            hint="write it without one: openssl rsa -in dkim.pem -out dkim-plain.pem",
        )


def _matching(pattern: re.Pattern[str], expected: str) -> Any:
    def convert(source: str, key: str, value: Any) -> str:
        text = as_text(source, key, value).strip().lower()
        if not pattern.fullmatch(text):
            raise ConfigError(source, key, f"expected {expected}, got {text!r}")
        return text

    return convert
