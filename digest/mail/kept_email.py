"""A digest's email blocks, kept in the store: rendered once when the digest is published, read by each send.

Rendering the blocks (:func:`digest.mail.blocks.render_email`) means every paper's TL;DR, the
templates compiled and rendered, the HTML inlined: a few hundred milliseconds a process, as long
as sending a few hundred messages. So a publish keeps them, as rendered (before any transport's
wire format, put on as they are read), under a key over everything they are made from: the
digest and its topics, the site and email settings, every file of the template folders and the
size and time of each of digest's own source files. Whatever changes among these gives a new
key, and the blocks are rendered again (and kept), so a kept copy is never stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.config import Config
from digest.mail.blocks import Blocks, DigestEmail, Tokens, in_wire_format, render_email
from digest.models import Digest, Topic
from digest.store import Store

if TYPE_CHECKING:
    from digest.site.render import Renderer

#: Changes when the kept form changes.
FORMAT = "email-blocks-1"


def email_for(
    store: Store,
    config: Config,
    digest: Digest,
    topics: Sequence[Topic],
    *,
    now: dt.datetime,
    wire_format: Callable[[bytes], bytes],
    renderer: Callable[[], Renderer],
) -> DigestEmail:
    """The digest's email in the transport's wire format: the kept blocks, else rendered now (and kept)."""
    key = email_key(config, digest, topics)
    text = store.rendered_html(now).get(key)
    email = from_text(text) if text is not None else None
    if email is None:
        email = render_email(digest, renderer(), topics)
        store.rendered_html(now).put(key, to_text(email))
    return in_wire_format(email, wire_format)


def keep_email(
    store: Store, config: Config, digest: Digest, topics: Sequence[Topic], renderer: Renderer, *, now: dt.datetime
) -> None:
    """Render the digest's email (a broken template fails here, not in a send) and keep its blocks."""
    email = render_email(digest, renderer, topics)
    store.rendered_html(now).put(email_key(config, digest, topics), to_text(email))


def email_key(config: Config, digest: Digest, topics: Sequence[Topic]) -> str:
    """What the blocks are made from, hashed (see the module's description)."""
    from digest.site.stamp import BUNDLED_TEMPLATES

    made_of = hashlib.sha256()
    given = (FORMAT, dataclasses.replace(digest, papers=()), config.site, config.email, config.templates)
    # Piece by piece: a large digest's text is never held twice more as one string (and its encoding).
    for piece in (given, *digest.papers, *topics):
        made_of.update(repr(piece).encode("utf-8", "surrogatepass"))
    for folder in [*([config.templates] if config.templates else []), BUNDLED_TEMPLATES]:
        made_of.update(_folder_hash(Path(folder)))
    made_of.update(_code_stamp())
    return f"{FORMAT}:{made_of.hexdigest()}"


def _folder_hash(folder: Path) -> bytes:
    """Every file of a template folder, its path and its bytes (the folder's templates may include each other)."""
    made_of = hashlib.sha256()
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            made_of.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\0".encode("utf-8", "surrogateescape"))
            made_of.update(path.read_bytes())
    return made_of.digest()


@functools.cache
def _code_stamp() -> bytes:
    """The size and modification time of each of digest's source files: code that renders differently is a
    new key."""
    made_of = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        stat = path.stat()
        made_of.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return made_of.digest()


def to_text(email: DigestEmail) -> str:
    """The email as JSON text (its bytes as surrogate-escaped strings; ASCII, so any database keeps it)."""

    def text(data: bytes) -> str:
        return data.decode("utf-8", "surrogateescape")

    def blocks(part: Blocks) -> dict[str, Any]:
        return {
            "head": text(part.head),
            "for_you": text(part.for_you),
            "top": text(part.top),
            "cards": [[text(before), text(after)] for before, after in part.cards],
            "reason": text(part.reason),
            "also_new": text(part.also_new),
            "contents": [text(block) for block in part.contents],
            "contents_end": text(part.contents_end),
            "topics": [text(block) for block in part.topics],
            "lines": [text(block) for block in part.lines],
            "more": text(part.more),
            "tail": text(part.tail),
            "contents_separator": text(part.contents_separator),
        }

    return json.dumps(
        {
            "subject": email.subject,
            "titles": list(email.titles),
            "topics": [[topic.label, list(topic.members)] for topic in email.topics],
            "html": blocks(email.html),
            "text": blocks(email.text),
            "tokens": [getattr(email.tokens, name) for name in Tokens.__slots__],
            "total": email.total,
        },
        ensure_ascii=True,
    )


def from_text(text: str) -> DigestEmail | None:
    """The email kept by :func:`to_text` (its blocks as rendered); None when the text is not one."""

    def data(value: str) -> bytes:
        return value.encode("utf-8", "surrogateescape")

    def blocks(part: dict[str, Any]) -> Blocks:
        return Blocks(
            head=data(part["head"]),
            for_you=data(part["for_you"]),
            top=data(part["top"]),
            cards=tuple((data(before), data(after)) for before, after in part["cards"]),
            reason=data(part["reason"]),
            also_new=data(part["also_new"]),
            contents=tuple(map(data, part["contents"])),
            contents_end=data(part["contents_end"]),
            topics=tuple(map(data, part["topics"])),
            lines=tuple(map(data, part["lines"])),
            more=data(part["more"]),
            tail=data(part["tail"]),
            contents_separator=data(part["contents_separator"]),
        )

    try:
        kept = json.loads(text)
        return DigestEmail(
            subject=kept["subject"],
            titles=tuple(kept["titles"]),
            topics=tuple(Topic(label, tuple(members)) for label, members in kept["topics"]),
            html=blocks(kept["html"]),
            text=blocks(kept["text"]),
            tokens=Tokens(*kept["tokens"]),
            total=kept["total"],
        )
    except (ValueError, KeyError, TypeError):
        return None
