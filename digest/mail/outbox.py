"""The outbox transport: one .eml per message in a maildir-style folder, for a machine without SMTP."""

from __future__ import annotations

from pathlib import Path

from digest.files import write_atomic
from digest.mail.transport import LINE_END, ServerFailure


def local_line_ends(data: bytes) -> bytes:
    """A message as files on this machine keep it (a Maildir, a preview): every line ending in LF alone."""
    return LINE_END.sub(b"\n", data)


class OutboxTransport:
    """One .eml per message in a maildir-style folder (``tmp/``, ``new/``), written atomically.

    Its files have one line-end convention, LF, as Maildir readers (mutt, Thunderbird) expect;
    CRLF is for the wire.
    """

    sends_apart = False  # (a file written is quick: threads beside the sender do)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "new").mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(parents=True, exist_ok=True)

    def wire_format(self, data: bytes) -> bytes:
        return local_line_ends(data)

    def send(self, recipient: str, data: bytes | memoryview, *, key: str, sender: str | None = None) -> None:
        data = bytes(data)
        if sender is not None:  # the envelope sender, as a delivered message shows it
            end = b"\r\n" if data[: data.find(b"\n") + 1].endswith(b"\r\n") else b"\n"
            data = b"Return-Path: <" + sender.encode("ascii") + b">" + end + data
        try:
            write_atomic(self.folder / "new" / f"{key}.eml", data)
        except OSError as exc:
            raise ServerFailure(
                f"cannot write to the outbox {self.folder}: {exc.strerror or exc}",
                hint="check that the 'delivery.outbox' folder is writable and its disk has room",
            ) from exc

    def close(self) -> None:
        pass
