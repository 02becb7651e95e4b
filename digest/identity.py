"""A paper's identity: pure functions over its title and abstract.

A paper is known by its *title key*: the title in Unicode NFKC, case-folded,
with punctuation, whitespace and TeX markup (``$``, ``\\``, ``{}``) ignored.
Two listings whose keys are equal are the same paper.

A paper whose title was revised keeps its abstract; the *abstract fingerprint*
recognises it. Very short abstracts ("No abstract.") are too common to prove
anything, so they have no fingerprint.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Abstracts with fewer words than this have no fingerprint.
MIN_FINGERPRINT_WORDS = 20

# Everything but letters and digits: \W is exactly "not str.isalnum()", bar the underscore.
_NOT_ALNUM = re.compile(r"[\W_]+")
# Case folding leaves the dotless i alone although its capital folds to "i".
_FOLD_EXTRA = str.maketrans({"\u0131": "i"})  # dotless i


def title_key(title: str) -> str:
    """The identity key of a title: its letters and digits, NFKC and case-folded.

    >>> title_key("Attention Is All You Need!")
    'attentionisallyouneed'
    >>> title_key("$\\\\alpha$-Nets: {B}etter")
    'alphanetsbetter'
    """
    folded = unicodedata.normalize("NFKC", title).casefold().translate(_FOLD_EXTRA)
    # Folding can leave decomposed sequences ("İ" -> "i" + combining dot): compose
    # again; the marks that remain are not letters and drop out below.
    folded = unicodedata.normalize("NFKC", folded)
    return _NOT_ALNUM.sub("", folded)


def normalise_whitespace(text: str) -> str:
    """Runs of any Unicode whitespace become one space; ends are trimmed."""
    return " ".join(text.split())


def abstract_fingerprint(abstract: str) -> str | None:
    """A stable hash of an abstract's words, or None when it is too short to trust."""
    words = unicodedata.normalize("NFKC", abstract).casefold().split()
    if len(words) < MIN_FINGERPRINT_WORDS:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
