"""Subscriber rules. Pure: address checks (no DNS look-up), and interest terms as readers type and the store keeps them.

A reader's filters (which papers they receive at all) are applied by :mod:`digest.ranking.filters`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from digest.errors import UsageError


class AddressError(UsageError):
    """An address that digest will not send to."""

    hint = "give one bare address such as reader@example.org"


def normalise_address(text: str) -> str:
    """A syntax-checked, normalised address (domain lower-cased and IDNA-encoded), or AddressError."""
    from email_validator import EmailNotValidError, validate_email

    if any(char in text for char in "\r\n\0"):
        raise AddressError("the address contains a line break or NUL")
    stripped = text.strip()
    if "<" in stripped or ">" in stripped or '"' in stripped or "," in stripped or ";" in stripped:
        raise AddressError(f"{stripped!r} has header syntax (a display name, brackets, quotes or a list)")
    try:
        valid = validate_email(stripped, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(f"{stripped!r} is not a valid address: {exc}") from None
    # Local parts are case-sensitive in theory, not in practice: one person, one subscription.
    return f"{valid.local_part}@{valid.ascii_domain}".lower()


def parse_terms(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Interest terms from "a, b; c" (or a list): trimmed, case-folded, unique, sorted."""
    if text is None:
        return ()
    items = re.split(r"[,;\n]", text) if isinstance(text, str) else list(text)
    return tuple(sorted({" ".join(item.split()).casefold() for item in items if item and item.strip()}))


def terms_text(terms: Sequence[str]) -> str:
    return ", ".join(terms)
