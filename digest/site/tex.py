"""Inline TeX in a title, as text: ``From $r$ to $Q^*$`` reads "From r to Q*", ``\\"o`` "ö". Pure.

Listings give titles as their authors typed them, often with a little TeX: math between
dollars, Greek letters, accents, ``{B}races`` that keep a capital. Wherever a title is
shown (the mail, the feeds, the archive, the web pages) it is shown as text; the stored
title stays as it came (its identity ignores TeX anyway, see :mod:`digest.listings.identity`).

Math is the text between two dollars (the opening one followed, the closing one preceded,
by a non-space, and the closing one not followed by a digit, so "$5 and $10" stays as it
is); it is read with pylatexenc's LatexNodes2Text, super- and subscripts becoming Unicode
ones where Unicode has them (``x^2`` -> x², ``Q^*`` -> Q*), else ``x^(n+1)``. Outside math
only commands are read (``\\"o`` -> ö, ``\\alpha`` -> alpha's letter, ``\\&`` -> &); a command
pylatexenc does not know keeps its name, and no other character changes meaning (``%`` and
``~`` are text). The result is one line; anything that cannot be read is left as it was, silently.
"""

from __future__ import annotations

import functools
import re
from typing import Any

#: A title's math: at most this long between its dollars.
MAX_MATH = 200
#: A longer "title" is no title: it is shown as it came (reading it as TeX would cost time for nothing).
MAX_TITLE = 1000

_MATH = re.compile(r"(?<!\\)\$(?=[^\s$])(?P<math>[^$]{1,MAX}?)(?<=[^\s\\])\$(?!\d)".replace("MAX", str(MAX_MATH)))
_COMMAND = re.compile(r"\\(?:[A-Za-z]+\*?(?:\s*\{[^{}$]*\})*|[\"'`^~=.](?:\{[A-Za-z]\}|[A-Za-z])|[&%$#_{}])")
_SCRIPT = re.compile(r"(?P<mark>[\^_])(?:\{(?P<group>[^{}]*)\}|(?P<command>\\[A-Za-z]+)|(?P<char>[^\s{}\\]))")
_BRACES = re.compile(r"(?<!\\)[{}]")
_NAME = re.compile(r"\\([A-Za-z]+)")

_SUPER = str.maketrans("0123456789+-=()ni*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ*")
_SUB = str.maketrans("0123456789+-=()aeoxhklmnpstijruv", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ")


@functools.lru_cache(maxsize=4096)  # a title is shown in the mail, the archive and the feeds of each publish
def title_text(title: str) -> str:
    """The title with its inline TeX read as text (see the module's description); unchanged when it has none."""
    if ("$" not in title and "\\" not in title) or len(title) > MAX_TITLE:
        return title
    try:
        return _read(title)
    except Exception:  # noqa: BLE001 - a title that TeX cannot read is shown as it came
        return title


def _read(title: str) -> str:
    parts: list[str] = []
    last = 0
    for match in _MATH.finditer(title):
        parts.append(_text(title[last : match.start()]))
        parts.append(_math(match["math"]))
        last = match.end()
    if not last and not _COMMAND.search(title):
        return title  # a dollar or a backslash, but no TeX
    parts.append(_text(title[last:]))
    return " ".join("".join(parts).replace("\u00a0", " ").split())


def _text(text: str) -> str:
    """Outside math (of a title that has TeX): commands only; braces that only kept a capital go."""
    read = _COMMAND.sub(lambda match: _latex(match.group(0)) or match.group(0).lstrip("\\"), text)
    return _BRACES.sub("", read)


def _math(math: str) -> str:
    def script(match: re.Match[str]) -> str:
        body = match["group"] if match["group"] is not None else match["command"] or match["char"]
        text = _latex(body).strip()
        if match["mark"] == "^" and text in ("*", "\u2217"):
            return "*"
        if match["mark"] == "^" and text in ("'", "\u2032"):
            return "\u2032"
        table = _SUPER if match["mark"] == "^" else _SUB
        if text and all(ord(char) in table for char in text):
            return text.translate(table)
        return match["mark"] + (text if len(text) == 1 else f"({text})")

    return _latex("$" + _SCRIPT.sub(lambda match: "{" + script(match) + "}", math) + "$")


def _latex(source: str) -> str:
    """pylatexenc's reading of ``source``, commands it does not know kept by name."""
    known = _known()
    source = _NAME.sub(lambda match: match.group(0) if known(match[1]) else match[1], source)
    text = str(_converter().latex_to_text(source))
    if "%s" in text and "%s" not in source:  # a command short of its arguments (\frac{x}): not readable TeX
        raise ValueError(f"cannot read {source!r}")
    return text


@functools.cache
def _converter() -> Any:
    import logging

    from pylatexenc.latex2text import LatexNodes2Text

    # It reports TeX it cannot read on its loggers; such a title is shown as well as it can be, and says nothing
    # (under cron, a line on stderr is a mail to the operator).
    logging.getLogger("pylatexenc").setLevel(logging.CRITICAL + 1)
    return LatexNodes2Text(math_mode="text")


@functools.cache
def _known() -> Any:
    from pylatexenc.latex2text import get_default_latex_context_db

    database = get_default_latex_context_db()
    return lambda name: database.get_macro_spec(name) is not None
