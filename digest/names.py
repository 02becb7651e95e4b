"""People's names as readers and listings write them, and when two of them name the same author. Pure.

The rule (:func:`same_author`), as the README states it:

- **Normalised first**: Unicode NFKC, case-folded, control characters dropped, spaces collapsed; accents are
  taken off Latin letters only ("Müller" is "muller", "Łukasz" is "lukasz", "Strauß" is "strauss"), while
  other scripts are kept as written and compared case-folded ("Иван Петров", "王小明"). Every dash is a
  hyphen, with no space around it; a full stop ends an initial ("J.-P." is "j-p", "A.B." is "a b").
- **The family name** is the last word, with the particles written before it (van, von, de, der, di, da,
  le, la, du, del, dos...: "Ludwig van Beethoven" has "van beethoven"), or what comes before a comma
  ("Vaswani, Ashish"); a suffix (Jr., Sr., II, III) is left out. The family names must be equal: "Garcia-
  Molina" is one word, and "Garcia Molina" another name.
- **Given names** match word by word, as many as the shorter name has (a middle name may be left out):
  two words match when they are equal or one is the initial of the other ("A." and "Ashish"); a hyphenated
  given name matches part by part ("J.-P." and "Jean-Pierre") or by its first initial ("J."). A name
  without given names (one word) matches on its family name alone.

So "A. Vaswani" matches "Ashish Vaswani", and "Ashish Vaswani" does not match "Anna Vaswani". The rule is
symmetric, and unchanged by case, spacing and accents on Latin letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from digest.errors import UsageError

#: Words that belong to the family name that follows them ("van Gogh", "de la Cruz", "bin Salman").
PARTICLES = frozenset(
    "van von der den ter ten de del della degli dei di da das dos do du des la le lo al el bin ibn ben"
    " mac st saint zu af av".split()
)
#: Words after a family name that are no part of it.
SUFFIXES = frozenset("jr sr ii iii iv".split())
#: Latin letters that no decomposition takes an accent off.
_LATIN_PLAIN = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ð": "d", "æ": "ae", "œ": "oe"})
_LATIN_PLAIN[0x131] = "i"  # (the dotless i)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+\s*")


#: What a reader may follow: at most this many authors, each name at most this many characters.
MAX_FOLLOWS = 50
MAX_NAME = 100


class FollowError(UsageError):
    """A name that cannot be followed, or one author too many."""

    hint = f"give names such as 'Ashish Vaswani' or 'A. Vaswani': at most {MAX_FOLLOWS}, of up to {MAX_NAME} characters"


def checked_name(text: str) -> str:
    """A name a reader gave, as it is kept and shown: control characters dropped, spaces collapsed, within the
    limit; :class:`FollowError` says what is wrong."""
    name = " ".join(_CONTROLS.sub("", text).split())
    if len(name) > MAX_NAME:
        raise FollowError(f"the name {name[:40]!r}... has {len(name):,} characters, more than {MAX_NAME}")
    if not any(char.isalpha() for char in name):
        raise FollowError(f"{name!r} is not a name (it has no letter)" if name else "the name is empty")
    return name


def checked_follows(names: Iterable[str]) -> tuple[str, ...]:
    """:func:`checked_name` of each, one per key (the first kept), no more than :data:`MAX_FOLLOWS`."""
    kept: dict[str, str] = {}
    for text in names:
        name = checked_name(text)
        kept.setdefault(parse_name(name).key, name)
    if len(kept) > MAX_FOLLOWS:
        raise FollowError(f"{len(kept)} authors to follow, more than {MAX_FOLLOWS}")
    return tuple(kept.values())


@dataclass(frozen=True, slots=True)
class Name:
    """A name read for matching: its family name and its given names, normalised."""

    family: str  # "van beethoven"
    given: tuple[str, ...]  # ("ludwig",); ("j-p",) for "J.-P."

    @property
    def key(self) -> str:
        """The name as one normalised text: two names with the same key are the same name."""
        return " ".join((*self.given, self.family)) if self.family else ""


@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """``text`` normalised for matching: NFKC, case-folded, accents off Latin letters, dashes and spaces tidied."""
    text = _CONTROLS.sub("", unicodedata.normalize("NFKC", text)).casefold()
    if not text.isascii():
        kept = []
        latin = False
        for char in unicodedata.normalize("NFD", text):
            if unicodedata.combining(char):
                if not latin:
                    kept.append(char)
                continue
            latin = _is_latin(char)
            kept.append(char)
        text = unicodedata.normalize("NFC", "".join(kept)).translate(_LATIN_PLAIN)
    text = _DASHES.sub("-", text.replace(".", " "))
    return " ".join(word.strip("-") for word in text.split() if word.strip("-"))


@lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return char.isascii() or "LATIN" in unicodedata.name(char, "")


@lru_cache(maxsize=65_536)
def parse_name(text: str) -> Name:
    """A name as written ("Ashish Vaswani", "Vaswani, A.", "Ludwig van Beethoven") read for matching."""
    family_part, comma, given_part = text.partition(",")
    if comma and fold(given_part) and fold(family_part):
        words = fold(family_part).split()
        return Name(" ".join(words), tuple(word for word in fold(given_part).split() if word not in SUFFIXES))
    words = fold(text.replace(",", " ")).split()
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    if not words:
        return Name("", ())
    start = len(words) - 1
    while start > 1 and words[start - 1] in PARTICLES:  # (a particle needs a given name before it)
        start -= 1
    return Name(" ".join(words[start:]), tuple(words[:start]))


def same_author(a: str, b: str) -> bool:
    """Whether two written names name the same author (see the module's rule)."""
    return names_match(parse_name(a), parse_name(b))


def names_match(a: Name, b: Name) -> bool:
    if not a.family or a.family != b.family:
        return False
    for x, y in zip(a.given, b.given, strict=False):
        if x != y and (x[0] != y[0] or not _given_match(x, y)):  # (every way to match starts with one letter)
            return False
    return True


def _given_match(a: str, b: str) -> bool:
    parts_a, parts_b = a.split("-"), b.split("-")
    if len(parts_a) == len(parts_b):
        return all(_word_match(x, y) for x, y in zip(parts_a, parts_b, strict=True))
    return (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def _word_match(a: str, b: str) -> bool:
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))
