"""Signed tokens for unsubscribe and confirm links. Pure: the key and clock are passed in.

A token names a subscriber and carries an HMAC-SHA256 over the action, the
subscriber's id, their address and (for expiring tokens) the time it was
issued. It cannot be forged without the key, nor used for another address or
another action. Unsubscribe tokens do not expire (old mails must keep working).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from typing import Literal

from digest.errors import ConfigError, DigestError

Action = Literal["unsubscribe", "confirm"]
MIN_KEY_LENGTH = 32


class TokenError(DigestError):
    """A token that is malformed, forged, expired or for something else."""


def secret_key(environ: dict[str, str] | None = None, *, value: str | None = None) -> bytes:
    """The signing key from DIGEST_SECRET_KEY; a clear error when missing or short."""
    key = value if value is not None else (environ or {}).get("DIGEST_SECRET_KEY", "")
    if len(key) < MIN_KEY_LENGTH:
        problem = "is not set" if not key else f"is too short ({len(key)} characters; at least {MIN_KEY_LENGTH})"
        raise ConfigError(
            "environment",
            "DIGEST_SECRET_KEY",
            problem,
            hint="set it to a long random value: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
        )
    return key.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signature(key: bytes, action: Action, subscriber_id: int, email: str, issued: int | None) -> str:
    message = f"digest:{action}:{subscriber_id}:{email.casefold()}:{issued if issued is not None else ''}"
    return _b64(hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()[:18])


def make_token(key: bytes, action: Action, subscriber_id: int, email: str, *, issued: dt.datetime | None = None) -> str:
    stamp = int(issued.timestamp()) if issued is not None else None
    parts = [str(subscriber_id)] + ([str(stamp)] if stamp is not None else [])
    return ".".join([*parts, _signature(key, action, subscriber_id, email, stamp)])


def token_subscriber(token: str) -> int:
    """The subscriber id a token claims (not yet verified); TokenError when malformed."""
    head = token.split(".", 1)[0]
    if not head.isdigit() or len(token) > 200:
        raise TokenError("malformed token")
    return int(head)


def verify_token(
    key: bytes,
    action: Action,
    token: str,
    lookup_email: Callable[[int], str | None],
    *,
    now: dt.datetime | None = None,
    max_age: dt.timedelta | None = None,
) -> int:
    """The subscriber id of a valid token; TokenError otherwise (saying nothing about any address)."""
    parts = token.split(".")
    if len(parts) not in (2, 3) or not all(part for part in parts):
        raise TokenError("malformed token")
    subscriber_id = token_subscriber(token)
    stamp: int | None = None
    if len(parts) == 3:
        if not parts[1].isdigit():
            raise TokenError("malformed token")
        stamp = int(parts[1])
    email = lookup_email(subscriber_id)
    expected = _signature(key, action, subscriber_id, email, stamp) if email is not None else ""
    if not email or not hmac.compare_digest(expected, parts[-1]):
        raise TokenError("invalid token")
    if max_age is not None:
        if stamp is None or now is None:
            raise TokenError("invalid token")
        if now - dt.datetime.fromtimestamp(stamp, tz=dt.UTC) > max_age:
            raise TokenError("expired token")
    return subscriber_id
