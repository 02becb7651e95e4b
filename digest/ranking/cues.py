"""What a sentence of an abstract states, by its cues: the idea, the task, results, background. Pure.

The idea is the paper as the subject of a verb of making or showing ("we propose",
"this paper introduces", "we derive", "we establish", "we revisit", "we study X and
propose Y"), a key phrase ("our key insight is", "is introduced") or a name given
("called X", "dubbed X"); a verb used as an adjective ("we apply the proposed
method") is none. The task is the paper as the subject of a verb of setting out
("we study", "this work investigates"). Results open with experiments or name
gains ("outperforms", "12%"); background opens with "Recently", "However",
"Despite" or says what "remains" or "has been". Every cue is a word or phrase of
the lower-cased sentence, matched once per sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


def _forms(verbs: str) -> frozenset[str]:
    """Every form of the verbs (base forms, space-separated) that states what the paper does."""
    irregular = {
        "build": "built",
        "learn": "learnt",
        "model": "modelled",
        "find": "found",
        "seek": "sought",
        "take": "took taken",
        "show": "shown",
        "shed": "shed",
        "cast": "cast",
        "put": "put",
    }
    forms: set[str] = set()
    for verb in verbs.split():
        forms |= {verb, verb + "s", verb + "es", verb + "d", verb + "ed", *irregular.get(verb, "").split()}
        if verb.endswith("y"):
            forms |= {verb[:-1] + "ies", verb[:-1] + "ied"}
        if verb.endswith("ize"):
            forms |= _forms(verb[:-3] + "ise")
    return frozenset(forms)


#: What the paper itself does: "we propose", "this paper introduces", "we derive", "we revisit".
_IDEA_VERBS = _forms(
    "propose introduce present develop design devise formulate reformulate build construct derive establish "
    "revisit rethink formalize frame cast unveil release create define adapt extend generalize unify leverage "
    "train learn model reveal identify prove rectify"
)
#: What the paper sets out to do: "we study", "this work investigates".
_TASK_VERBS = _forms(
    "study investigate explore examine address tackle consider focus aim seek ask analyze characterize evaluate "
    "show demonstrate find argue answer shed take conduct initiate provide offer describe contribute"
)
_PAPER = frozenset("paper work study article thesis letter note report survey".split())
_OURS = _PAPER | frozenset("approach method framework model algorithm system".split())
_ADVERBS = frozenset(
    "also further first then now here instead thus therefore hence newly formally carefully theoretically "
    "empirically systematically rigorously simply explicitly can will".split()
)
_KEY_PHRASES = (
    *tuple(
        f"{who} {what} {thing}"
        for who in ("our", "the")
        for what in ("key", "main", "core", "central", "first")
        for thing in ("idea", "insight", "contribution", "intuition", "observation", "thesis")
    ),
    "our contribution",
    "is proposed",
    "are proposed",
    "is introduced",
    "are introduced",
    "is presented",
)
_KEY_WORDS = frozenset({phrase.rsplit(" ", 1)[1] for phrase in _KEY_PHRASES})
_NAMING = frozenset("called named dubbed termed coined".split())
_NAMING_PHRASES = ("we call", "we term", "we name")
_SELF = re.compile(
    r"(?:in|here,?) (?:this|the present|our) (?:paper|work|study|article|thesis)|here,? we\b|"
    r"(?:this|the present) (?:paper|work|study|article|thesis)\b"
)
_RESULT_OPENING = frozenset(
    "experiment experiments experimental empirical empirically evaluation evaluations result results simulation "
    "simulations numerical ablation ablations compared extensive".split()
)
_RESULT_WORDS = frozenset(
    "state-of-the-art sota speedup speed-up speedups outperforms outperform outperforming".split()
)
_RESULT_STEMS = ("surpass", "achiev", "outperform")
_NUMBER = re.compile(r"\d(?:\.\d+)?\s?(?:%|x\b|times\b)")
_CLAUSE_END = re.compile(r"[,;:]")
#: A sentence that only points back ("This paper aims to address this challenge.") says nothing on its own.
_POINTS_BACK = re.compile(
    r"\b(?:this|these|such|the above|the aforementioned) (?:challenges?|problems?|issues?|gaps?|limitations?|"
    r"questions?|tensions?|shortcomings?|difficult(?:y|ies)|drawbacks?)\b"
)
_BACKGROUND_OPENING = frozenset(
    "recent recently however despite although though while existing current currently traditional "
    "traditionally conventional conventionally many most prior previous previously as nowadays since yet "
    "unfortunately typically commonly historically standard".split()
)
_BACKGROUND_WORDS = frozenset("remain remains suffer suffers struggle struggles lack lacks".split())
_BACKGROUND_PHRASES = (
    "has been",
    "have been",
    "have shown",
    "has shown",
    "is challenging",
    "are challenging",
    "is limited",
    "are limited",
    "poorly understood",
    "is crucial",
    "is critical",
    "is essential",
    "with the",
    "in recent",
    "over the past",
)
_SECONDARY_OPENING = frozenset(
    "additionally moreover furthermore finally lastly besides beyond also further second secondly third thirdly".split()
)
_SECONDARY_PHRASES = ("we also", "we further", "we additionally", "we finally", "in addition")
_PUNCTUATION = ".,;:!?()[]{}\"'`"


def _tokens(lowered: str) -> list[str]:
    return [word for word in (word.strip(_PUNCTUATION) for word in lowered.split()) if word]


def _states(tokens: Sequence[str], verbs: frozenset[str]) -> bool:
    """Whether the paper is the subject of one of ``verbs`` ("we propose", "this work studies", "we X and derive")."""
    for index, token in enumerate(tokens):
        if token == "we":
            start = index + 1
        elif (token == "this" and index + 1 < len(tokens) and tokens[index + 1] in _PAPER) or (
            token == "our" and index + 1 < len(tokens) and tokens[index + 1] in _OURS
        ):
            start = index + 2
        elif token == "present" and index > 0 and tokens[index - 1] == "the" and index + 1 < len(tokens):
            start = index + 2 if tokens[index + 1] in _PAPER else len(tokens)
        else:
            continue
        if _verb_at(tokens, start, verbs):
            return True
        for near in range(start, min(len(tokens) - 1, start + 15)):  # "we study X and propose Y"
            if tokens[near] == "and" and _verb_at(tokens, near + 1, verbs):
                return True
    return False


def _verb_at(tokens: Sequence[str], index: int, verbs: frozenset[str]) -> bool:
    while index < len(tokens) and tokens[index] in _ADVERBS:
        index += 1
    return index < len(tokens) and (
        tokens[index] in verbs
        or (tokens[index] == "put" and index + 1 < len(tokens) and tokens[index + 1] == "forward")
    )


@dataclass(frozen=True, slots=True)
class Marks:
    """What a sentence states, by its cues (each pattern is matched once, on the lower-cased sentence)."""

    idea: bool
    named: bool  # "called X", "dubbed X"
    own: bool  # the paper speaks of itself: "In this paper, ...", "Here we ..."
    task: bool
    result_only: bool  # results, not "we propose X, which outperforms"
    background: bool
    secondary: bool
    points_back: bool  # a short sentence that only points back: "This paper aims to address this challenge."

    @classmethod
    def of(cls, sentence: str) -> Marks:
        lowered = sentence.casefold()
        tokens = _tokens(lowered)
        words = set(tokens)
        opening = tokens[0] if tokens else ""
        idea = _states(tokens, _IDEA_VERBS) or (
            bool(words & _KEY_WORDS) and any(phrase in lowered for phrase in _KEY_PHRASES)
        )
        result = (
            opening in _RESULT_OPENING
            or lowered.startswith(("in our experiments", "in experiments", "on the ", "our experiments", "our results"))
            or bool(words & _RESULT_WORDS)
            or any(stem in lowered for stem in _RESULT_STEMS)
            or _NUMBER.search(lowered) is not None
        )
        end = _CLAUSE_END.search(lowered)
        clause = _tokens(lowered[: end.start()] if end else lowered)
        return cls(
            idea=idea,
            named=bool(words & _NAMING) or any(phrase in lowered for phrase in _NAMING_PHRASES),
            own=_SELF.match(lowered) is not None,
            task=not idea and _states(tokens, _TASK_VERBS),
            result_only=result and not (idea and _states(clause, _IDEA_VERBS)),
            background=opening in _BACKGROUND_OPENING
            or bool(words & _BACKGROUND_WORDS)
            or any(phrase in lowered for phrase in _BACKGROUND_PHRASES),
            secondary=opening in _SECONDARY_OPENING or any(phrase in lowered for phrase in _SECONDARY_PHRASES),
            points_back=len(lowered) < 80 and _POINTS_BACK.search(lowered) is not None,
        )
