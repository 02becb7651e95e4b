"""What a transport is, and how its failures read. The transports: SMTP (:mod:`digest.mail.smtp`, with
connection reuse, a rate limit, timeouts) and the outbox folder (:mod:`digest.mail.outbox`).

A transport's ``send`` says whose problem a failure is:

- :class:`PermanentFailure`: the server refused this recipient (a 5xx to RCPT);
- :class:`TemporaryFailure`: this recipient, not now (a 4xx to RCPT);
- :class:`ServerFailure`: not about any one recipient: the server is down, slow,
  refuses the sender or the message, or the outbox cannot be written. Its
  ``permanent`` flag says whether trying again can help;
- :class:`MaybeDelivered`: the message was sent but no answer came after its
  final ".": it may have been delivered, and must not be resent blindly.

``send`` is called from several threads.
"""

from __future__ import annotations

import re
from typing import Protocol

from digest.errors import DigestError


class DeliveryError(DigestError):
    """A message could not be handed over."""

    hint = "check DIGEST_SMTP_URL and the SMTP server"


class TemporaryFailure(DeliveryError):
    """A 4xx answer about this recipient: a later try may succeed."""


class PermanentFailure(DeliveryError):
    """A 5xx answer to this recipient's RCPT: it counts against the recipient."""


class ServerFailure(DeliveryError):
    """A failure that is not about one recipient; ``permanent`` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.permanent = permanent


class MaybeDelivered(DeliveryError):
    """No answer came after the message's final ".": the server may have accepted it."""


class Transport(Protocol):
    #: Whether its sending can move to a process of its own (:mod:`digest.mail.sending_process`): its work is
    #: all on the wire, and it keeps nothing the sender reads back.
    sends_apart: bool

    def wire_format(self, data: bytes) -> bytes:
        """The form ``send`` takes: done once per message template, not per recipient."""
        ...

    def send(self, recipient: str, data: bytes | memoryview, *, key: str, sender: str | None = None) -> None:
        """Hand over one message (its bytes, or a view of them: see :mod:`digest.mail.shared_ring`); ``sender``:
        its envelope sender (MAIL FROM), else the From address."""
        ...

    def close(self) -> None: ...


#: Any line end (CRLF, CR, LF): each transport puts on its own.
LINE_END = re.compile(rb"\r\n|\r|\n")
