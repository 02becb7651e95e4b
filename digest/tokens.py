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
import re
from collections.abc import Callable
from typing import Literal

from digest.errors import ConfigError, DigestError

Action = Literal["unsubscribe", "confirm", "vote", "preferences", "feed"]
MIN_KEY_LENGTH = 32
#: A token is canonical: an id of ASCII digits, an optional stamp, and a base64url signature.
_TOKEN = re.compile(r"(?P<id>[1-9][0-9]{0,17})(?:\.(?P<stamp>[0-9]{1,12}))?\.(?P<signature>[A-Za-z0-9_-]{24})")


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


def _parts(token: str) -> re.Match[str]:
    match = _TOKEN.fullmatch(token) if len(token) <= 64 else None
    if match is None:
        raise TokenError("malformed token")
    return match


def token_subscriber(token: str) -> int:
    """The subscriber id a token claims (not yet verified); TokenError when malformed."""
    return int(_parts(token)["id"])


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
    parts = _parts(token)  # checked before anything is read from the store
    subscriber_id = int(parts["id"])
    stamp = int(parts["stamp"]) if parts["stamp"] is not None else None
    email = lookup_email(subscriber_id)
    expected = _signature(key, action, subscriber_id, email, stamp) if email is not None else ""
    if not email or not hmac.compare_digest(expected, parts["signature"]):
        raise TokenError("invalid token")
    if max_age is not None:
        if stamp is None or now is None:
            raise TokenError("invalid token")
        if now.timestamp() - stamp > max_age.total_seconds():
            raise TokenError("expired token")
    return subscriber_id


#: A return-path (VERP) token: the delivery (``d`` and a digest's number, or ``w`` and a week's send day as
#: YYYYMMDD), the subscriber's id and an HMAC in lower-case base32. Only lower-case letters, digits and "-",
#: so that it survives a mail server that changes the case of the local part; at most 43 characters.
_RETURN_TOKEN = re.compile(r"(?P<delivery>[dw][1-9][0-9]{0,11})-(?P<id>[1-9][0-9]{0,11})-(?P<signature>[a-z2-7]{16})")
RETURN_TOKEN_LENGTH = 43


def _return_signature(key: bytes, delivery: str, subscriber_id: int) -> str:
    digest = hmac.new(key, f"digest:return:{delivery}:{subscriber_id}".encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def make_return_token(key: bytes, delivery: str, subscriber_id: int) -> str:
    """The token that goes into a message's envelope sender (``bounces+TOKEN@example.org``)."""
    token = f"{delivery}-{subscriber_id}-{_return_signature(key, delivery, subscriber_id)}"
    if not _RETURN_TOKEN.fullmatch(token):
        raise ValueError(f"cannot make a return token for delivery {delivery!r} and subscriber {subscriber_id}")
    return token


def read_return_token(key: bytes, token: str) -> tuple[str, int]:
    """The delivery and subscriber id a return token names; TokenError when it is malformed or forged.

    The token is compared in lower case (some mail servers change the case of an address's local part).
    """
    match = _RETURN_TOKEN.fullmatch(token.lower()) if len(token) <= RETURN_TOKEN_LENGTH else None
    if match is None:
        raise TokenError("malformed return token")
    delivery, subscriber_id = match["delivery"], int(match["id"])
    if not hmac.compare_digest(_return_signature(key, delivery, subscriber_id), match["signature"]):
        raise TokenError("invalid return token")
    return delivery, subscriber_id
