"""The preferences page's follows and suggestions: follow an author, unfollow one, add a suggested interest.

Each is a POST of the preferences page (its CSRF field checked there first) and answers in sentences, as
the page's other changes do. Names and terms are reader input: bounded and refused in one sentence when
past the limit (:func:`digest.names.checked_name`, :func:`digest.subscribers.checked_terms`).
"""

from __future__ import annotations

import datetime as dt

from digest.models import Subscriber
from digest.names import FollowError, checked_name
from digest.ranking.kept import keep_reader
from digest.ranking.suggest import suggestions
from digest.store import Store
from digest.subscribers import TermsError, checked_terms, terms_text

ACTIONS = ("follow", "unfollow", "add-interest")


def followed_and_suggested(store: Store, subscriber: Subscriber) -> tuple[list[str], list[str]]:
    """What the page shows: the authors the reader follows, and the interest terms their likes suggest."""
    return store.follows.of(subscriber.id), [term.text for term in suggestions(store, subscriber)]


def change(store: Store, subscriber: Subscriber, form: dict[str, str], *, now: dt.datetime) -> tuple[list[str], int]:
    """Apply the form's follow, unfollow or add-interest; what changed, in sentences, and the page's status."""
    action = form.get("action")
    if action == "add-interest":
        return _add_interest(store, subscriber, form.get("term", ""), now=now)
    try:
        name = checked_name(form.get("name", ""))
    except FollowError as exc:
        return [f"Nothing was changed: {exc.message} ({exc.hint})."], 400
    if action == "follow":
        try:
            added = store.follows.add(subscriber.id, [name], now=now)
        except FollowError as exc:
            return [f"Nothing was changed: {exc.message} ({exc.hint})."], 400
        if not added:
            return [f"You follow {name} already."], 200
        return [f"You now follow {name}: their new papers come first in your mail."], 200
    removed, _ = store.follows.remove(subscriber.id, [name])
    if not removed:
        return [f"You do not follow {name}, so nothing was changed."], 200
    return [f"You no longer follow {', '.join(removed)}."], 200


def _add_interest(store: Store, subscriber: Subscriber, term: str, *, now: dt.datetime) -> tuple[list[str], int]:
    try:
        (added,) = checked_terms(term[:1000], "the suggested term") or ("",)
        interests = checked_terms(terms_text((*subscriber.interests, added)))
    except (TermsError, ValueError) as exc:
        said = exc.message if isinstance(exc, TermsError) else "give one term"
        return [f"Nothing was changed: your {said}."], 400
    if not added or interests == subscriber.interests:
        return [f"“{added}” is among your interests already." if added else "Nothing was changed."], 200
    store.profiles.update(subscriber.id, interests=interests)
    keep_reader(store, subscriber.id, now=now)  # (for a mail queued for them)
    return [f"Added “{added}”: your interests are now {terms_text(interests)}."], 200
