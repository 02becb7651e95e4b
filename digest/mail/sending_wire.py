"""What crosses between the sender and its sending process (:mod:`digest.mail.sending_process`): the records
of the task pipe (a message's header, and its bytes where they do not lie in the shared ring; a halt; the
sender's end) and the framed outcomes coming back. Encoding and decoding only, and the pipes' size."""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass
from typing import BinaryIO

from digest.errors import DigestError
from digest.mail.connections import Failed
from digest.mail.shared_ring import SharedRing

#: A record's header: the length of its pickled header (0: a halt, or with :data:`ENDS` the sender's end),
#: where its message starts in the shared ring (-1: it follows in the pipe), and its length.
RECORD = struct.Struct("<IqQ")
#: Where the sender's last record says it ends (its pipe closes next).
ENDS = -2
#: An outcome's length, before it.
OUTCOME = struct.Struct("<I")
#: The pipes' capacity (Linux; elsewhere the system's default): headers, and now and then a message that does not
#: fit in the ring.
PIPE_BYTES = 1 << 20


class SendingProcessError(DigestError):
    """The sending process failed or ended before its time."""

    hint = "the deliveries it held stay queued for a later run; see the messages above"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What the wire needs of one message."""

    recipient: str
    data: bytes | memoryview  # (in the sending process, a view of the shared ring: sent from there, not copied)
    key: str
    sender: str | None  # the envelope sender (MAIL FROM), else the transport's own


#: What a halt, and the sender's end, read as in the sending process.
HALT = (-1, Outgoing("", b"", "", None))
END = (-2, Outgoing("", b"", "", None))


def read_record(incoming: BinaryIO, ring: SharedRing) -> tuple[int, Outgoing] | None:
    """The next message and its number, :data:`HALT`, :data:`END`, or None when the pipe closed."""
    head = incoming.read(RECORD.size)
    if len(head) < RECORD.size:
        return None
    head_length, start, data_length = RECORD.unpack(head)
    if not head_length:
        return END if start == ENDS else HALT
    number, recipient, key, sender = pickle.loads(incoming.read(head_length))
    data = incoming.read(data_length) if start < 0 else ring.read(start, data_length)
    if len(data) < data_length:
        return None
    return number, Outgoing(recipient, data, key, sender)


def frame(item: object) -> bytes:
    try:
        blob = pickle.dumps(item)
    except Exception as exc:  # noqa: BLE001 (an error that does not pickle: said in words)
        error = item.error if isinstance(item, Failed) else exc
        blob = pickle.dumps(Failed(SendingProcessError(f"the sending process failed: {error!r}")))
    return OUTCOME.pack(len(blob)) + blob


def read_outcome(incoming: BinaryIO) -> object | None:
    head = incoming.read(OUTCOME.size)
    if len(head) < OUTCOME.size:
        return None
    outcome: object = pickle.loads(incoming.read(OUTCOME.unpack(head)[0]))
    return outcome


def widen(end: int) -> None:
    """A pipe of :data:`PIPE_BYTES` where the system lets one be set (Linux)."""
    try:
        import fcntl

        fcntl.fcntl(end, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass
