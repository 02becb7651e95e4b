"""A one-sentence TL;DR of an abstract: the sentence that states the contribution. Pure and offline.

Abstracts usually open with background ("Large language models have shown ...")
and state what the paper does a sentence or two later ("We propose X, which
..."). Each sentence is scored by the cues that mark a contribution (a first
person verb of making or showing, "this paper presents", "in this work") against
those that mark background or motivation ("recently", "however, ... remains");
the best one wins, the earlier on a tie. The result is at most
:data:`TLDR_CHARS` characters, cut between words with an ellipsis.
"""

from __future__ import annotations

import re

TLDR_CHARS = 200

#: Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "Sec.", "resp.", "approx.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")

_STRONG = re.compile(
    r"\b(?:we|this (?:paper|work|study|article)|in this (?:paper|work)|here,? we|our (?:work|paper))\b[^.]{0,40}?"
    r"\b(?:propose[sd]?|introduce[sd]?|present(?:s|ed)?|develop(?:s|ed)?|design(?:s|ed)?|build|built|"
    r"formulate[sd]?|devise[sd]?|offer(?:s|ed)?|contribute[sd]?|release[sd]?|construct(?:s|ed)?|"
    r"call(?:ed)?|name[sd]?|dub(?:bed)?|unveil(?:s|ed)?)\b",
    re.IGNORECASE,
)
_MEDIUM = re.compile(
    r"\b(?:we|this (?:paper|work|study)|in this (?:paper|work))\b[^.]{0,40}?"
    r"\b(?:show(?:s|ed)?|demonstrate[sd]?|find|found|study|studies|investigate[sd]?|analy[sz]e[sd]?|explore[sd]?|"
    r"address(?:es|ed)?|tackle[sd]?|bridge[sd]?|frame[sd]?|extend(?:s|ed)?|leverage[sd]?|use[sd]?|train(?:s|ed)?)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(
    r"\b(?:we|our (?:main |key )?(?:finding|contribution|result|approach|method|analysis)s?|"
    r"in this (?:paper|work|study))\b",
    re.IGNORECASE,
)
_NAMED = re.compile(r"\b(?:called|named|dubbed|termed)\b|^[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*\s*(?:,|:|is|\()")
_BACKGROUND = re.compile(
    r"^(?:recent(?:ly)?|however|despite|although|while|existing|current|traditional|conventional|"
    r"many|most|prior|previous|as|with the|in recent)\b|\b(?:remains?|has been|have been|have shown|has shown|"
    r"is challenging|are challenging|suffer(?:s)?|limited|lack(?:s|ing)?|struggle[sd]?)\b",
    re.IGNORECASE,
)
_RESULT = re.compile(r"\b(?:outperform(?:s|ing)?|state-of-the-art|achiev(?:es|ing)|improv(?:es|ing))\b", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    """``text`` split into sentences, not at "e.g.", "et al." or a decimal point."""
    text = " ".join(text.split())
    protected = text
    for index, abbreviation in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbreviation, abbreviation.replace(".", f"\x00{index}"))
    parts = _SENTENCE_END.split(protected)
    restored = []
    for part in parts:
        for index, abbreviation in enumerate(_ABBREVIATIONS):
            part = part.replace(abbreviation.replace(".", f"\x00{index}"), abbreviation)
        if part.strip():
            restored.append(part.strip())
    return restored


def contribution_score(sentence: str, position: int) -> float:
    """How strongly ``sentence`` (the ``position``-th, from 0) states what the paper contributes."""
    score = 0.0
    if _STRONG.search(sentence):
        score += 3.0
    elif _MEDIUM.search(sentence):
        score += 1.5
    elif _FIRST_PERSON.search(sentence):
        score += 1.0
    if _NAMED.search(sentence):
        score += 0.5
    if _RESULT.search(sentence):
        score += 0.5
    if _BACKGROUND.search(sentence):
        score -= 1.5
    if len(sentence) < 40:  # a fragment ("Code is available.") says little
        score -= 1.0
    return score - 0.1 * position


def shorten(text: str, limit: int = TLDR_CHARS) -> str:
    """``text`` cut between words to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-(") + "…"


def tldr(abstract: str, limit: int = TLDR_CHARS) -> str:
    """The abstract's contribution sentence, at most ``limit`` characters; "" for an empty abstract."""
    candidates = sentences(abstract)
    if not candidates:
        return ""
    best = max(enumerate(candidates), key=lambda item: (contribution_score(item[1], item[0]), -item[0]))[1]
    return shorten(best, limit)
