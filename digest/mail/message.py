"""Email messages: multipart/alternative, text/plain first and HTML last. Pure.

A digest's message is serialised once as a skeleton, with placeholders for what
differs per recipient (To, Message-ID, the List-Unsubscribe URL and both
bodies), and cut at them once. :func:`personalise_message` joins a recipient's
values and their assembled bodies into it: nothing is re-encoded per
recipient. The bodies are 8bit UTF-8 (lines kept under SMTP's 998-byte limit)
so that they can be joined as bytes; header values go through the email
package's SMTP policy, so untrusted text never reaches a header raw.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

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
    html_body: bytes
    text_body: bytes

    def compile(self, wire_format: Callable[[bytes], bytes] = lambda data: data) -> CompiledMessage:
        """Put the data in the transport's wire format and cut it at its placeholders, once."""
        names = {
            self.to: "to",
            self.message_id: "message_id",
            self.header_url: "url",
            self.html_body: "html_body",
            self.text_body: "text_body",
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


def prepare_message(subject: str, *, sender: str, date: dt.datetime, headers: ListHeaders) -> MessageTemplate:
    """Serialise the message once, with placeholders for the recipient's parts and bodies."""
    seed = hashlib.sha256(f"{subject}\n{date.isoformat()}\n{sender}".encode()).hexdigest()[:20]
    to = f"to-{seed}@recipient.invalid"
    message_id = f"mid-{seed}@message.invalid"
    header_url = f"https://unsubscribe-{seed}.invalid/"
    html_body = f"%%html-body-{seed}%%"
    text_body = f"%%text-body-{seed}%%"

    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
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
    # The bodies' placeholders stand alone on their line: a body (ending in a line end) replaces it whole.
    message.set_content(text_body, subtype="plain", charset="utf-8", cte="8bit")
    message.add_alternative(html_body, subtype="html", charset="utf-8", cte="8bit")
    data = message.as_bytes(policy=POLICY)
    data = data.replace(f"{text_body}\n".encode(), text_body.encode()).replace(
        f"{html_body}\n".encode(), html_body.encode()
    )
    return MessageTemplate(
        data=data,
        to=to.encode(),
        message_id=message_id.encode(),
        header_url=header_url.encode(),
        html_body=html_body.encode(),
        text_body=text_body.encode(),
    )


def subject_line(template: str, *, date: dt.date, count: int) -> str:
    """The subject template filled in: ``{date}``, ``{count}`` and ``{papers}`` ("paper" or "papers")."""
    return " ".join(template.format(date=date, count=count, papers="paper" if count == 1 else "papers").split())


_ADDRESS = re.compile(r"[\x21-\x7e]+@[\x21-\x7e]+")
_MESSAGE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+")
_URL = re.compile(r"https?://[\x21-\x7e]+")


def personalise_message(
    message: CompiledMessage,
    *,
    recipient: str,
    message_id: str,
    unsubscribe_url: str,
    html_body: bytes,
    text_body: bytes,
) -> bytes:
    """One recipient's message bytes; the bodies are in the message's wire format and end in a line end.

    Every value must be plain ASCII without spaces or brackets.
    """
    if not _ADDRESS.fullmatch(recipient) or not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError("recipient and message id must be plain ASCII addresses")
    if not _URL.fullmatch(unsubscribe_url) or any(char in unsubscribe_url for char in '<>,"'):
        raise ValueError("the unsubscribe URL must be a plain http(s) URL")
    values = {
        "to": recipient.encode("ascii"),
        "message_id": message_id.encode("ascii"),
        "url": unsubscribe_url.encode("ascii"),
        "html_body": html_body,
        "text_body": text_body,
    }
    out = [message.pieces[0]]
    for slot, piece in zip(message.slots, message.pieces[1:], strict=True):
        out += (values[slot], piece)
    return b"".join(out)


def message_id_for(digest_id: int, subscriber_id: int, *, list_id: str) -> str:
    """Stable per digest and subscriber, so that a resend carries the same id."""
    return f"digest-{digest_id}.{subscriber_id}@{list_id}"
