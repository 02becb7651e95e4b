"""A TL;DR of an abstract: the sentence that states the paper's idea. Pure, offline, deterministic.

Abstracts open with background ("Large language models have shown ..."), state
the task and the idea a sentence or two later ("We propose X, which ..."), then
the results ("Experiments show that X outperforms ..."). Each sentence is scored
by what marks each part:

- the **idea**: the paper as subject of a verb of making or showing ("we
  propose", "this paper introduces", "we derive", "we establish", "we revisit",
  "... is introduced", "called X", "our key insight is"); a verb used as an
  adjective ("we apply the proposed method") does not count;
- the **title**: a sentence that shares the title's distinctive words, or names
  what the title names ("PROP: ..." -> "we propose ... (PROP)"), states the
  contribution the title is about, not a secondary one;
- the **task** ("we study", "this paper investigates"): a weaker cue;
- **results only** ("Experimental results demonstrate that our method
  outperforms ..."), **background** ("Recently, ...", "However, ... remains")
  and **secondary** contributions ("We also ...", "Finally, we ...") count against.

The best sentence wins, the earlier on a tie. When it states the idea and the
sentence before it states the task (or it states the task and the next one the
idea), both are shown when they fit. The result is at most :data:`TLDR_CHARS`
characters, cut between words with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from digest.ranking.cues import Marks

TLDR_CHARS = 200

#: Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "Sec.", "resp.", "approx.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


_WORD = re.compile(r"[^\W_][\w-]*", re.UNICODE)
#: Title words that say nothing of the paper (matched by their first five letters).
_PLAIN = frozenset(
    "towards toward using based learning model models method methods approach paper study analysis with from "
    "their about which large language neural network networks deep via through into over under beyond learn".split()
)


def sentences(text: str) -> list[str]:
    """``text`` split into sentences, not at "e.g.", "et al." or a decimal point."""
    text = " ".join(text.split())
    protected = text
    for index, abbreviation in enumerate(_ABBREVIATIONS):
        if abbreviation in protected:
            protected = protected.replace(abbreviation, abbreviation.replace(".", f"\x00{index}"))
    restored = []
    for part in _SENTENCE_END.split(protected):
        if "\x00" in part:
            for index, abbreviation in enumerate(_ABBREVIATIONS):
                part = part.replace(abbreviation.replace(".", f"\x00{index}"), abbreviation)
        if part.strip():
            restored.append(part.strip())
    return restored


@lru_cache(maxsize=1024)
def _title_words(title: str) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """The title's distinctive words (by their first five letters) and the names it gives ("PROP", "CoT-Valve")."""
    words = _WORD.findall(title)
    distinctive = frozenset(word.casefold()[:5] for word in words if len(word) > 3 and word.casefold() not in _PLAIN)
    names = set()
    head, colon, _ = title.partition(":")
    if colon and 0 < len(head.split()) <= 3:
        names.add(head.strip().casefold())  # "PROP: Pre-training with ..." names PROP
    for word in words:
        if sum(ch.isupper() for ch in word[1:]) >= 1 and len(word) > 2:  # "DPO", "CoT-Valve", "SpecDec++"
            names.add(word.casefold())
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    return distinctive, re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE) if names else None


def contribution_score(
    sentence: str, position: int, title: str = "", marks: Marks | None = None, *, first_idea: bool = False
) -> float:
    """How well ``sentence`` (the ``position``-th, from 0) states the paper's idea.

    ``first_idea``: no sentence before it states an idea (later ones tend to be details or secondary).
    """
    marks = marks or Marks.of(sentence)
    score = 3.0 if marks.idea else 1.5 if marks.task else 0.0
    score += 0.5 * marks.named + 0.5 * marks.own + 0.5 * (marks.idea and first_idea)
    if title:
        distinctive, names = _title_words(title)
        if distinctive:
            found = {word[:5] for word in _WORD.findall(sentence.casefold())}
            score += 2.0 * len(distinctive & found) / len(distinctive)
        if names is not None and names.search(sentence):
            score += 1.0
    # "Despite ..., we propose X" states an idea: a background opening counts only against the others
    score -= 1.5 * marks.result_only + 1.5 * (marks.background and not marks.idea) + 1.0 * marks.secondary
    if len(sentence) < 40:  # a fragment ("Code is available.") says little
        score -= 1.0
    elif marks.points_back:
        score -= 1.5
    return score - 0.05 * position


def choose(candidates: Sequence[str], title: str = "") -> tuple[int, ...]:
    """Which of an abstract's sentences the TL;DR is made of (indexes, in order)."""
    if not candidates:
        return ()
    marks = [Marks.of(sentence) for sentence in candidates]
    first = next((i for i, mark in enumerate(marks) if mark.idea), -1)
    scores = [
        contribution_score(sentence, i, title, marks[i], first_idea=i == first) for i, sentence in enumerate(candidates)
    ]
    best = max(range(len(candidates)), key=lambda index: (scores[index], -index))
    if marks[best].idea:
        before = best - 1
        if before >= 0 and marks[before].task and not marks[before].background and _fits(candidates, before, best):
            return (before, best)
    elif marks[best].task:
        after = best + 1
        if after < len(candidates) and marks[after].idea and _fits(candidates, best, after):
            return (best, after)
    return (best,)


def _fits(candidates: Sequence[str], first: int, second: int) -> bool:
    return len(candidates[first]) + 1 + len(candidates[second]) <= TLDR_CHARS


def shorten(text: str, limit: int = TLDR_CHARS) -> str:
    """``text`` cut between words to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-(") + "…"


def tldr(abstract: str, title: str = "", limit: int = TLDR_CHARS) -> str:
    """The abstract's sentence (or two) that states the paper's idea, at most ``limit`` characters."""
    candidates = sentences(abstract)
    return shorten(" ".join(candidates[i] for i in choose(candidates, title)), limit)


SummarySource = Literal["listing", "abstract"]
#: Control characters (other than whitespace) have no place in a summary shown to a reader.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True, slots=True)
class Summary:
    """A paper's TL;DR, and where it came from: the listing's own summary, or the abstract's idea sentence."""

    text: str
    source: SummarySource


def summary(title: str, abstract: str, provided: str | None = None, limit: int = TLDR_CHARS) -> Summary:
    """The TL;DR to show: a summary the listing gave (its leading sentences that fit in ``limit``
    characters, control characters dropped), else the abstract's own (:func:`tldr`)."""
    given = " ".join(_CONTROL.sub("", provided[: 20 * limit]).split()) if provided else ""
    if given:
        kept: list[str] = []
        for sentence in sentences(given):
            if len(" ".join([*kept, sentence])) > limit:
                break
            kept.append(sentence)
        return Summary(" ".join(kept) if kept else shorten(given, limit), "listing")
    return Summary(tldr(abstract, title, limit), "abstract")
