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


# Control characters that are not whitespace (C0, DEL, C1), lone surrogates, the bidirectional embedding,
# override and isolate controls (they can make a title read as something else) and the two noncharacters.
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def normalise_whitespace(text: str) -> str:
    """Runs of any Unicode whitespace become one space; control characters are dropped; ends are trimmed.

    Every format reads every text of a listing (titles, abstracts, authors, ids) through this, so that no
    control character, NUL or lone surrogate reaches the history, a page or a mail.
    """
    return " ".join(_UNPRINTABLE.sub("", text).split())


def join_wrapped(lines: list[str]) -> str:
    """A hard-wrapped paragraph's lines as one: joined with a space, but a line that ends in a hyphen after a
    letter and a next line that starts with a letter join without one.

    >>> join_wrapped(["we train a large-", "scale model"])
    'we train a large-scale model'
    """
    text = lines[0] if lines else ""
    for line in lines[1:]:
        glued = text.endswith("-") and text[-2:-1].isalpha() and line[:1].isalpha()
        text += line if glued else f" {line}"
    return text


def abstract_fingerprint(abstract: str) -> str | None:
    """A stable hash of an abstract's words, or None when it is too short to trust."""
    words = unicodedata.normalize("NFKC", abstract).casefold().split()
    if len(words) < MIN_FINGERPRINT_WORDS:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


# New-style ids (2403.01234, 0704.0001) and old-style ones (hep-th/9901001, math.AG/0601001),
# bare or inside "arXiv:", abs/pdf URLs and OAI identifiers, with or without a version.
_ARXIV_ID = re.compile(
    r"(?:^|arxiv[:/]|arxiv\.org/(?:abs|pdf)/|oai:arxiv\.org:)"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?(?=$|[^\w.])",
    re.IGNORECASE | re.ASCII,  # an id is ASCII digits: fullwidth or Arabic-Indic digits name no paper
)


def arxiv_id(text: str | None) -> str | None:
    """The canonical arXiv id a text names, version and prefixes removed; None when it names none.

    >>> arxiv_id("https://arxiv.org/abs/2403.01234v3"), arxiv_id("oai:arXiv.org:hep-th/9901001v1")
    ('2403.01234', 'hep-th/9901001')
    """
    if not text:
        return None
    match = _ARXIV_ID.search(text.strip())
    if match is None:
        return None
    found = match["id"]
    if "/" not in found:
        return found
    archive, number = found.split("/")
    name, _, subject = archive.partition(".")
    return f"{name.lower()}.{subject.upper()}/{number}" if subject else f"{name.lower()}/{number}"
