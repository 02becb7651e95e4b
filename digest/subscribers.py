"""Subscriber rules. Pure: address checks (no DNS look-up), interest terms as readers type and the store keeps
them, the one limit on what a reader may give as terms (the command line, a CSV import and the web forms alike),
and CSV cells that a spreadsheet cannot run.

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


#: What a reader may give as terms (interests, or an include or exclude filter): characters in all, terms, and
#: characters of one term.
MAX_TERMS_TEXT = 500
MAX_TERMS = 30
MAX_TERM = 100
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class TermsError(UsageError):
    """Terms beyond the limit."""

    hint = f"give at most {MAX_TERMS} comma-separated terms of up to {MAX_TERM} characters, {MAX_TERMS_TEXT} in all"


def parse_terms(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Interest terms from "a, b; c" (or a list): trimmed, case-folded, unique, sorted; control characters dropped."""
    if text is None:
        return ()
    items = re.split(r"[,;\n]", text) if isinstance(text, str) else list(text)
    return tuple(
        sorted({" ".join(_CONTROLS.sub("", item).split()).casefold() for item in items if item and item.strip()})
    )


def checked_terms(text: str | None, what: str = "interests") -> tuple[str, ...]:
    """:func:`parse_terms` of what a reader typed, within the limit; :class:`TermsError` says what is too long."""
    terms = parse_terms(text)
    if text is not None and len(text) > MAX_TERMS_TEXT:
        raise TermsError(f"{what}: {len(text):,} characters, more than {MAX_TERMS_TEXT}")
    if len(terms) > MAX_TERMS:
        raise TermsError(f"{what}: {len(terms)} terms, more than {MAX_TERMS}")
    longest = max(terms, key=len, default="")
    if len(longest) > MAX_TERM:
        raise TermsError(f"{what}: the term {longest[:40]!r}... has {len(longest)} characters, more than {MAX_TERM}")
    return terms


def terms_text(terms: Sequence[str]) -> str:
    return ", ".join(terms)


#: A CSV cell starting with one of these is a formula to a spreadsheet (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula (after any ``'``) gets a ``'`` before it."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def csv_value(cell: str) -> str:
    """What :func:`csv_cell` wrote: the ``'`` before a formula start taken off again."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS) else cell
