"""A digest's topics, computed once: when it is published, and kept in the store for every mail and page."""

from __future__ import annotations

from digest.models import Digest, Topic
from digest.store import Store
from digest.topics import digest_topics


def topics_of(store: Store, digest: Digest) -> list[Topic]:
    """The topics kept for ``digest``; computed (and kept, when the digest is recorded) when there are none."""
    if digest.id is not None:
        kept = store.digests.topics(digest.id)
        if kept is not None:
            return kept
    topics = digest_topics(digest.papers)
    if digest.id is not None:
        store.digests.keep_topics(digest.id, topics)
    return topics
