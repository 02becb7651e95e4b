"""What one returned message says: a bounce (permanent or temporary), a complaint, an auto-reply, or nothing. Pure.

Bounces are detected by ``flufl.bounce`` (Mailman's detectors: RFC 3464 delivery
status notifications and the formats of many mail systems that send none);
complaints are RFC 5965 (ARF) feedback reports, read with the standard library.
A bounce that says the mailbox does not exist (status 5.1.1 or 5.1.10, or a 550
"unknown user" in a text bounce) is ``gone``; other permanent failures are
``permanent``; "delayed" and 4.x.x failures are ``temporary``.

Everything a returned message carries is untrusted: addresses, ids and texts are
bounded, stripped of control characters, and only ever compared or printed.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from digest.store.returns import ReturnKind

#: Bytes of a returned message that are read (reports come first; the returned original last).
MAX_MESSAGE = 1024 * 1024
#: Most addresses, message ids or candidate return addresses kept of one message.
MAX_ITEMS = 20
MAX_DETAIL = 300
#: Headers that name where a returned message was sent (the VERP address), outermost first.
RETURN_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to")
COMPLAINT_TYPES = ("abuse", "fraud")
GONE_STATUS = ("5.1.1", "5.1.10")

#: Control and bidirectional-formatting characters, and the lone surrogates undecodable bytes become.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]+")
_ADDRESS = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,64}@[A-Za-z0-9.-]{1,253}")
_MESSAGE_ID = re.compile(r"<([\x21-\x3b\x3d\x3f-\x7e]{1,250})>")
_ID_LINE = re.compile(rb"^message-id:[ \t]*<([\x21-\x3b\x3d\x3f-\x7e]{1,250})>", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_UNKNOWN_USER = re.compile(
    r"\b550\b.{0,200}?(unknown user|user unknown|no such (user|mailbox|recipient)|does ?n[o']t exist"
    r"|recipient not found|mailbox not found|invalid (recipient|mailbox)|unknown (recipient|mailbox))",
    re.IGNORECASE | re.DOTALL,
)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")


@dataclass(frozen=True, slots=True)
class ReturnedMessage:
    """One returned message, as far as it could be read."""

    key: str  # its Message-ID, else "sha256:" and a hash of its bytes: what it is recorded by
    kind: ReturnKind
    failed: tuple[str, ...] = ()  # the addresses it reports as failing (or complaining), lower case
    detail: str = ""  # status and diagnostic, or the feedback type: one line, bounded
    return_addresses: tuple[str, ...] = ()  # where it was sent and what the original's sender was
    original_ids: tuple[str, ...] = ()  # Message-IDs of the message it returns

    @property
    def needs_reader(self) -> bool:
        """Bounces and complaints are about a reader; auto-replies and unrelated mail are not."""
        return self.kind in ("gone", "permanent", "temporary", "complaint")


def message_key(data: bytes, message: Message | None) -> str:
    """A returned message's own Message-ID (bounded), else a hash of its bytes."""
    if message is not None:
        found = _MESSAGE_ID.search(clean(message.get("message-id", ""), 260))
        if found:
            return found.group(1)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_returned(data: bytes) -> ReturnedMessage:
    """Classify one returned message (its first :data:`MAX_MESSAGE` bytes); ``unreadable`` when it is not mail."""
    data = data[:MAX_MESSAGE]
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the email package promises not to raise, but one bad message never stops a run
        return ReturnedMessage(message_key(data, None), "unreadable", detail=clean(f"cannot be parsed: {exc}"))
    key = message_key(data, message)
    if not message.keys():
        return ReturnedMessage(key, "unreadable", detail="not a mail message (no header)")
    try:
        return _classify(message, data, key)
    except Exception as exc:  # noqa: BLE001 - a detector that fails on odd input is reported, never fatal
        return ReturnedMessage(key, "unreadable", detail=clean(f"cannot be read: {type(exc).__name__}: {exc}"))


def _classify(message: Message, data: bytes, key: str) -> ReturnedMessage:
    returns = [*_header_addresses(message, RETURN_HEADERS)]
    report = _first_part(message, "message/feedback-report")
    if report is not None:
        return _complaint(message, report, key, returns)
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(message)
    failed = _addresses(b.decode("ascii", "replace") for b in permanent or temporary)
    statuses = list(_delivery_statuses(message))
    if not failed and not any(action.startswith(("fail", "delayed")) for action, _, _ in statuses):
        # No report in it (a bounce such as Exim's says Auto-Submitted: auto-replied too, with one).
        kind: ReturnKind = "auto-reply" if _is_auto_reply(message) else "unrelated"
        return ReturnedMessage(key, kind, detail=clean(message.get("subject", ""), 120))
    originals = _original_ids(message, data)
    returns += _original_senders(message)
    detail = "; ".join(clean(f"{status} {diagnostic}".strip(), 200) for _, status, diagnostic in statuses[:3])
    if permanent or any(action.startswith("fail") for action, _, _ in statuses):
        text = detail or _text_of(message)
        codes = [status for _, status, _ in statuses] + [".".join(m) for m in _STATUS.findall(text)]
        gone = any(code in GONE_STATUS for code in codes) or bool(_UNKNOWN_USER.search(text))
        kind = "gone" if gone else "permanent"
        detail = detail or _summary(text)
    else:
        kind = "temporary"
    failed = failed or _addresses(recipient for _, _, recipient in _status_recipients(message))
    return ReturnedMessage(key, kind, tuple(failed), clean(detail, MAX_DETAIL), _unique(returns), originals)


def _complaint(message: Message, report: Message, key: str, returns: list[str]) -> ReturnedMessage:
    fields = _fields(report)
    kind_name = clean(fields.get("feedback-type", ""), 40).lower()
    returns += _addresses(fields.get_all("original-mail-from", []))
    returned = _first_part(message, "message/rfc822") or _first_part(message, "text/rfc822-headers")
    originals: list[str] = []
    if returned is not None:
        headers = _fields(returned)
        returns += _addresses(headers.get_all("return-path", []))
        originals += [m.group(1) for m in _MESSAGE_ID.finditer(clean(headers.get("message-id", ""), 260))]
    failed = _addresses(fields.get_all("original-rcpt-to", []) + fields.get_all("removal-recipient", []))
    agent = clean(fields.get("user-agent", ""), 80)
    detail = f"{kind_name or 'unknown'} report" + (f" from {agent}" if agent else "")
    kind: ReturnKind = "complaint" if kind_name in COMPLAINT_TYPES else "unrelated"
    return ReturnedMessage(key, kind, tuple(failed), detail, _unique(returns), tuple(originals[:MAX_ITEMS]))


def _is_auto_reply(message: Message) -> bool:
    submitted = clean(message.get("auto-submitted", ""), 40).lower()
    precedence = clean(message.get("precedence", ""), 40).lower()
    return (
        submitted.startswith("auto-replied") or precedence == "auto_reply" or any(h in message for h in _AUTO_HEADERS)
    )


def _first_part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _fields(part: Message) -> Message:
    """The header fields a message/* or text/rfc822-headers part holds."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    raw = part.get_payload(decode=True)
    text = raw if isinstance(raw, bytes) else str(payload).encode("utf-8", "replace")
    return email.message_from_bytes(text[:65536], policy=email.policy.compat32)


def _status_blocks(message: Message) -> Iterator[Message]:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                yield from (block for block in payload[:MAX_ITEMS] if isinstance(block, Message))


def _delivery_statuses(message: Message) -> Iterator[tuple[str, str, str]]:
    """(action, status, diagnostic) of each recipient block of the message's delivery-status parts."""
    for block in _status_blocks(message):
        action = clean(block.get("action", ""), 40).lower()
        if action:
            status = _STATUS.search(clean(block.get("status", ""), 40))
            yield action, status.group(0) if status else "", clean(block.get("diagnostic-code", ""), 200)


def _status_recipients(message: Message) -> Iterator[tuple[str, str, str]]:
    for block in _status_blocks(message):
        action = clean(block.get("action", ""), 40).lower()
        if action.startswith(("fail", "delayed")):
            for field in ("original-recipient", "final-recipient"):
                value = clean(block.get(field, ""), 400)
                if value:
                    yield action, field, value.rpartition(";")[2]
                    break


def _original_ids(message: Message, data: bytes) -> tuple[str, ...]:
    """Message-IDs of the returned original: in its attached copy or headers, else in a text bounce's body."""
    found: list[str] = []
    for part in message.walk():
        if part is not message and part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            value = clean(_fields(part).get("message-id", ""), 260)
            found += [m.group(1) for m in _MESSAGE_ID.finditer(value)]
    if not found:  # a text bounce quotes the original below its own headers
        body = data[data.find(b"\n\n") + 2 :] if b"\n\n" in data else data
        found += [m.group(1).decode("ascii") for m in _ID_LINE.finditer(body)]
    return _unique(found)


def _original_senders(message: Message) -> list[str]:
    senders: list[str] = []
    for part in message.walk():
        if part is not message and part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            senders += _addresses(_fields(part).get_all("return-path", []))
    return senders


def _header_addresses(message: Message, names: tuple[str, ...]) -> Iterator[str]:
    for name in names:
        yield from _addresses(message.get_all(name, []))


def _addresses(values: object) -> list[str]:
    found: list[str] = []
    for value in values:  # type: ignore[attr-defined]
        found += [m.group(0).lower() for m in _ADDRESS.finditer(clean(str(value), 2000))]
        if len(found) >= MAX_ITEMS:
            break
    return list(_unique(found))


def _text_of(message: Message) -> str:
    """The first text part of a bounce, bounded (where a text bounce says why)."""
    for part in message.walk():
        if part.get_content_maintype() == "text":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return raw[:65536].decode("utf-8", "replace")
    return ""


def _summary(text: str) -> str:
    """The line of a text bounce that gives the reason (its SMTP answer), else its first words."""
    for line in text.splitlines():
        if re.match(r"\s*[45]\d\d[ -]", line):
            return clean(line, 200)
    return clean(text, 120)


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))[:MAX_ITEMS]


def clean(value: object, limit: int = MAX_DETAIL) -> str:
    """Untrusted text as one bounded line: control characters dropped, whitespace collapsed."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
