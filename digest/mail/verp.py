"""VERP: each message's envelope sender names its delivery, so that returned mail says whose it was.

With ``delivery.bounce_address: bounces@example.org``, the message of one delivery (a
digest or a week's mail, to one reader) goes out with the envelope sender
``bounces+TOKEN@example.org``; a returned message is sent there, and the signed token
(see :func:`digest.tokens.make_return_token`) names the delivery and the reader.
"""

from __future__ import annotations

import datetime as dt
import re

from digest.config import Config
from digest.tokens import TokenError, make_return_token, read_return_token

_DIGEST = re.compile(r"d([1-9][0-9]*)")
_WEEK = re.compile(r"w([0-9]{8})")


def return_path(config: Config, secret: bytes, delivery: str, subscriber_id: int) -> str | None:
    """The envelope sender of one delivery's message; None without a bounce address (the From address is used)."""
    address = config.delivery.bounce_address
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}+{make_return_token(secret, delivery, subscriber_id)}@{domain}"


def token_in(address: str, bounce_address: str) -> str | None:
    """The return token of ``address`` when it is the bounce address with one (``bounces+TOKEN@domain``)."""
    local, _, domain = bounce_address.rpartition("@")
    name, at, where = address.strip().strip("<>").rpartition("@")
    base, plus, token = name.partition("+")
    if not at or not plus or base.lower() != local.lower() or where.lower() != domain.lower():
        return None
    return token


def read_delivery(secret: bytes, token: str) -> tuple[int | None, dt.date | None, int]:
    """(digest id, week, subscriber id) a genuine token names; TokenError for a forged or malformed one."""
    delivery, subscriber_id = read_return_token(secret, token)
    if match := _DIGEST.fullmatch(delivery):
        return int(match[1]), None, subscriber_id
    match = _WEEK.fullmatch(delivery)
    try:
        week = dt.datetime.strptime(match[1], "%Y%m%d").date() if match else None
    except ValueError:
        week = None
    if week is None:
        raise TokenError("malformed return token")
    return None, week, subscriber_id


def delivery_name(digest_id: int | None = None, week: dt.date | None = None) -> str:
    """How a token names a delivery: ``d`` and the digest's number, or ``w`` and the week's send day."""
    return f"d{digest_id}" if digest_id is not None else f"w{week:%Y%m%d}"
