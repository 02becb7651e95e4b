"""Email messages: multipart/alternative, text/plain first and HTML last. Pure.

A digest's message is serialised and compiled once per filter variant, with placeholders
for what differs per recipient (To, Message-ID, the unsubscribe URL in the
List-Unsubscribe header and in both bodies). :func:`personalise_message` fills
them in with byte replacements: nothing is re-encoded per recipient. The
bodies are 8bit UTF-8 (lines kept under SMTP's 998-byte limit) so that a
placeholder is never split by a transfer encoding; header values go through
the email package's SMTP policy, so untrusted text never reaches a header raw.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from digest.render import RenderedEmail

POLICY = email.policy.SMTP.clone(max_line_length=78)
#: SMTP allows 998 bytes a line; lines longer than this are folded at a space.
MAX_BODY_LINE = 990


@dataclass(frozen=True, slots=True)
class ListHeaders:
    list_id: str  # e.g. "papers.example.org"
    list_name: str
    unsubscribe_mailto: str | None = None


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A serialised message with per-recipient placeholders."""

    data: bytes
    to: bytes
    message_id: bytes
    header_url: bytes
    html_url: bytes
    text_url: bytes

    def compile(self, wire_format: Callable[[bytes], bytes] = lambda data: data) -> CompiledMessage:
        """Put the data in the transport's wire format and cut it at its placeholders, once."""
        names = {
            self.to: "to",
            self.message_id: "message_id",
            self.header_url: "url",
            self.html_url: "html_url",
            self.text_url: "url",
        }
        pattern = re.compile(b"|".join(re.escape(token) for token in names))
        data = wire_format(self.data)
        pieces: list[bytes] = []
        slots: list[str] = []
        last = 0
        for match in pattern.finditer(data):
            pieces.append(data[last : match.start()])
            slots.append(names[match.group(0)])
            last = match.end()
        pieces.append(data[last:])
        return CompiledMessage(tuple(pieces), tuple(slots))


@dataclass(frozen=True, slots=True)
class CompiledMessage:
    """A message cut at its placeholders: a recipient's copy is one join."""

    pieces: tuple[bytes, ...]
    slots: tuple[str, ...]  # which value goes between pieces[i] and pieces[i + 1]


def fold_long_lines(text: str, limit: int = MAX_BODY_LINE) -> str:
    """Break lines longer than ``limit`` bytes at a space (safe in HTML outside <pre>, and in plain text)."""
    out = []
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            cut = line.rfind(" ", 0, limit // 2 if not line.isascii() else limit)
            if cut <= 0:
                break  # no space to break at (a single huge token): leave it
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def prepare_message(
    rendered: RenderedEmail, *, sender: str, date: dt.datetime, headers: ListHeaders
) -> MessageTemplate:
    """Serialise the message once, with placeholders for the recipient's parts."""
    seed = hashlib.sha256(rendered.html.encode("utf-8") + rendered.text.encode("utf-8")).hexdigest()[:20]
    to = f"to-{seed}@recipient.invalid"
    message_id = f"mid-{seed}@message.invalid"
    header_url = f"https://unsubscribe-{seed}.invalid/"
    html_url = f"%%unsubscribe-html-{seed}%%"
    text_url = f"%%unsubscribe-text-{seed}%%"
    token = rendered.placeholders["unsubscribe_url"]

    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = f"<{message_id}>"
    message["MIME-Version"] = "1.0"
    message["List-Id"] = f"{headers.list_name} <{headers.list_id}>"
    unsubscribe = f"<{header_url}>"
    if headers.unsubscribe_mailto:
        unsubscribe += f", <mailto:{headers.unsubscribe_mailto}?subject=unsubscribe>"
    message["List-Unsubscribe"] = unsubscribe
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["Precedence"] = "bulk"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(
        fold_long_lines(rendered.text.replace(token, text_url)), subtype="plain", charset="utf-8", cte="8bit"
    )
    message.add_alternative(
        fold_long_lines(rendered.html.replace(token, html_url)), subtype="html", charset="utf-8", cte="8bit"
    )
    return MessageTemplate(
        data=message.as_bytes(policy=POLICY),
        to=to.encode(),
        message_id=message_id.encode(),
        header_url=header_url.encode(),
        html_url=html_url.encode(),
        text_url=text_url.encode(),
    )


_ADDRESS = re.compile(r"[\x21-\x7e]+@[\x21-\x7e]+")
_MESSAGE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+")
_URL = re.compile(r"https?://[\x21-\x7e]+")


def personalise_message(message: CompiledMessage, *, recipient: str, message_id: str, unsubscribe_url: str) -> bytes:
    """One recipient's message bytes. Every value must be plain ASCII without spaces or brackets."""
    if not _ADDRESS.fullmatch(recipient) or not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError("recipient and message id must be plain ASCII addresses")
    if not _URL.fullmatch(unsubscribe_url) or any(char in unsubscribe_url for char in '<>,"'):
        raise ValueError("the unsubscribe URL must be a plain http(s) URL")
    values = {
        "to": recipient.encode("ascii"),
        "message_id": message_id.encode("ascii"),
        "url": unsubscribe_url.encode("ascii"),
        "html_url": html.escape(unsubscribe_url, quote=True).encode("ascii"),
    }
    out = [message.pieces[0]]
    for slot, piece in zip(message.slots, message.pieces[1:], strict=True):
        out += (values[slot], piece)
    return b"".join(out)


def message_id_for(digest_id: int, subscriber_id: int, *, list_id: str) -> str:
    """Stable per digest and subscriber, so that a resend carries the same id."""
    return f"digest-{digest_id}.{subscriber_id}@{list_id}"
