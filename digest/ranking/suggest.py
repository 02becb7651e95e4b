"""Interest terms a reader's likes suggest: what sets the papers they liked apart from the history.

The same measure as a topic's heading (:func:`digest.ranking.terms.distinctive_terms`): a term used by
at least half of the reader's most recent liked papers, far more often than by the history's papers
(the document frequencies of its :data:`~digest.ranking.grouping.HISTORY_SAMPLE` most recent ones),
and a content word of those papers; with fewer than :data:`MIN_LIKES` likes, none. Terms the reader has
among their interests already (or a form of one: the same stem) are left out; up to :data:`SUGGESTED`
are offered, best first.

:func:`suggested_terms` is pure; :func:`suggestions` reads the reader's likes and the history, and keeps
the history's frequencies until a listing brings new papers (a web process asks for them at every
preferences page).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from digest.models import Subscriber
from digest.ranking.grouping import history_frequencies
from digest.ranking.terms import Term, distinctive_terms
from digest.ranking.words import DocumentFrequencies, Titled, stem
from digest.store import Store

#: At most this many terms are suggested.
SUGGESTED = 5
#: The reader's most recent likes the suggestions are read from, and how many make a theme (one paper's words
#: are that paper's, not a reader's interest).
LIKES_READ = 50
MIN_LIKES = 3

_kept: dict[tuple[str, int], DocumentFrequencies] = {}
_lock = threading.Lock()


def suggested_terms(
    liked: Sequence[Titled], frequencies: DocumentFrequencies, interests: Sequence[str], *, limit: int = SUGGESTED
) -> list[Term]:
    """The terms that set ``liked`` apart from the history, best first, none of them among ``interests``."""
    if len(liked) < MIN_LIKES:
        return []
    taken = {stem(word) for interest in interests for word in interest.casefold().split()}
    terms = distinctive_terms(liked, frequencies, limit=limit + len(interests))
    fresh = [term for term in terms if not (set(term.key.split()) & taken) and term.text.casefold() not in interests]
    return fresh[:limit]


def suggestions(store: Store, subscriber: Subscriber, *, limit: int = SUGGESTED) -> list[Term]:
    """The terms :func:`suggested_terms` finds in the reader's liked papers (those with their text)."""
    liked = [vote.paper for vote in store.profiles.recent_votes(subscriber.id, "like", LIKES_READ)]
    liked = [paper for paper in liked if paper.abstract]
    if len(liked) < MIN_LIKES:
        return []
    return suggested_terms(liked, _frequencies(store), subscriber.interests, limit=limit)


def _frequencies(store: Store) -> DocumentFrequencies:
    """The history's document frequencies, kept until the history holds new papers."""
    key = (store.identity(), store.profiles.newest_paper())
    with _lock:
        found = _kept.get(key)
        if found is None:
            found = history_frequencies(store)
            _kept.clear()
            _kept[key] = found
        return found
