"""A digest's topics, computed once: when it is published, and kept in the store for every mail and page;
and a week's digests as one digest (a weekly mail's, a week page's), with the week's topics kept likewise
(prepared, when they can be, by the publish of the week's last digest: see :func:`prepare_week_topics`).

The headings are measured against the history: the document frequencies of its :data:`HISTORY_SAMPLE`
most recent papers (the digest's own among them), read when the topics are computed, never per mail."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from digest.models import Digest, Topic
from digest.ranking.words import DocumentFrequencies, document_frequencies, topic_text
from digest.store import Store
from digest.weekly import week_digest

#: How many of the history's most recent papers the headings are measured against.
HISTORY_SAMPLE = 2_000


def history_frequencies(store: Store) -> DocumentFrequencies:
    """The document frequencies of the history's most recent papers (a bounded sample)."""
    return document_frequencies(topic_text(*paper) for paper in store.profiles.recent_texts(HISTORY_SAMPLE))


def compute_topics(store: Store, digest: Digest) -> list[Topic]:
    """The topics of ``digest``'s papers, computed now against the history (not kept)."""
    from digest.ranking.topics import digest_topics

    return digest_topics(digest.papers, history_frequencies(store))


#: Where a week's prepared topics are kept, beside its ranking rows.
TOPICS_KEY = "topics"


def topics_of(store: Store, digest: Digest) -> list[Topic]:
    """The topics kept for ``digest``; computed (and kept, when the digest is recorded) when there are none."""
    if digest.id is not None:
        kept = store.digests.topics(digest.id)
        if kept is not None:
            return kept
    topics = compute_topics(store, digest)
    if digest.id is not None:
        store.digests.keep_topics(digest.id, topics)
    return topics


def week_scope(week: dt.date, digest_ids: Sequence[int]) -> str:
    """Where what is prepared for a week's mails is kept (see :mod:`digest.ranking.kept`): by week and digests."""
    return f"week:{week.isoformat()}:{','.join(str(digest_id) for digest_id in digest_ids)}"


def combined(store: Store, week: dt.date, digest_ids: Sequence[int], *, published_at: dt.datetime) -> Digest:
    """The week's digests (those of ``digest_ids`` that exist) as one digest."""
    digests = [digest for digest in map(store.digests.get, digest_ids) if digest is not None]
    return week_digest(week, digests, published_at=published_at)


def week_topics(store: Store, week: dt.date, digest_ids: Sequence[int], digest: Digest) -> list[Topic]:
    """The topics of a week's mail: kept for the week's own digests (its page shows the same), else computed."""
    recorded = store.weeks.get(week)
    prepared = _prepared_topics(store, week_scope(week, digest_ids))
    if recorded is None or tuple(digest_ids) != tuple(recorded.digest_ids):
        return prepared if prepared is not None else compute_topics(store, digest)
    kept = store.weeks.topics(week)
    if kept is None:
        kept = prepared if prepared is not None else compute_topics(store, digest)
        store.weeks.keep_topics(week, kept)
    return kept


def prepare_week_topics(
    store: Store, week: dt.date, digest_ids: Sequence[int], digest: Digest, *, now: dt.datetime
) -> list[Topic]:
    """Compute a coming week's topics ahead of its mails (the same as :func:`week_topics` would), and keep them."""
    scope = week_scope(week, digest_ids)
    topics = _prepared_topics(store, scope)
    if topics is None:
        topics = compute_topics(store, digest)
        encoded = json.dumps([[topic.label, list(topic.members)] for topic in topics]).encode("utf-8")
        store.ranking.put(scope, {TOPICS_KEY: encoded}, now=now)
    return topics


def _prepared_topics(store: Store, scope: str) -> list[Topic] | None:
    kept = store.ranking.get(scope, [TOPICS_KEY])
    if TOPICS_KEY not in kept:
        return None
    return [Topic(str(label), tuple(int(i) for i in members)) for label, members in json.loads(kept[TOPICS_KEY])]
