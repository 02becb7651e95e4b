"""Transports: SMTP (with connection reuse, a rate limit, timeouts) and an outbox folder.

A transport's ``send`` raises :class:`TemporaryFailure` for what a later try may
cure (4xx answers, dropped connections, timeouts) and :class:`PermanentFailure`
for what it will not (a 5xx answer for this recipient). ``send`` is called from
several threads; each thread keeps its own SMTP connection.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from digest.errors import DigestError
from digest.files import write_atomic


class DeliveryError(DigestError):
    """A message could not be handed over."""

    hint = "check DIGEST_SMTP_URL and the SMTP server"


class TemporaryFailure(DeliveryError):
    pass


class PermanentFailure(DeliveryError):
    pass


class Transport(Protocol):
    def wire_format(self, data: bytes) -> bytes:
        """The form ``send`` takes: done once per message template, not per recipient."""
        ...

    def send(self, recipient: str, data: bytes, *, key: str) -> None: ...

    def close(self) -> None: ...


class RateLimiter:
    """At most ``rate`` acquisitions per second over all threads (0: no limit)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.lock = threading.Lock()
        self.next_slot = 0.0

    def acquire(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            slot = max(self.next_slot, now)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class OutboxTransport:
    """One .eml per message in a maildir-style folder (``tmp/``, ``new/``), written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "new").mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(parents=True, exist_ok=True)

    def wire_format(self, data: bytes) -> bytes:
        return data

    def send(self, recipient: str, data: bytes, *, key: str) -> None:
        try:
            write_atomic(self.folder / "new" / f"{key}.eml", data)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to the outbox {self.folder}: {exc.strerror}") from exc

    def close(self) -> None:
        pass


class SMTPTransport:
    """SMTP from a URL: smtp://host[:25], smtp+starttls://user:pass@host[:587], smtps://user:pass@host[:465]."""

    def __init__(self, url: str, *, sender: str, timeout: float, rate: float) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.envelope_from = parseaddr(sender)[1]
        self.timeout = timeout
        self.limiter = RateLimiter(rate)
        self.local = threading.local()
        self.connections: list[smtplib.SMTP] = []
        self.lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.scheme == "smtps":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.scheme == "smtp+starttls":
                    conn.starttls(context=ssl.create_default_context())
            conn.ehlo_or_helo_if_needed()
            if self.username:
                conn.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"the SMTP server {self.host}:{self.port} refused the login ({exc.smtp_code})",
                hint="check the user and password in DIGEST_SMTP_URL",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        with self.lock:
            self.connections.append(conn)
        return conn

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self._connect()
        return conn

    def _drop(self) -> None:
        conn = getattr(self.local, "conn", None)
        self.local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def wire_format(self, data: bytes) -> bytes:
        """CRLF line ends and dot-stuffing (RFC 5321 4.5.2), done once instead of per message."""
        data = _BARE_LINE_END.sub(b"\r\n", data)
        data = _LEADING_DOT.sub(b"..", data)
        return data if data.endswith(b"\r\n") else data + b"\r\n"

    def send(self, recipient: str, data: bytes, *, key: str) -> None:
        """Send ``data`` (in wire format) to one recipient; MAIL, RCPT and DATA pipelined when offered."""
        self.limiter.acquire()
        conn = self._connection()
        try:
            if self.pipelining(conn):
                conn.send(f"MAIL FROM:<{self.envelope_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
                replies = [conn.getreply(), conn.getreply(), conn.getreply()]
            else:
                replies = [conn.mail(self.envelope_from)]
                if replies[0][0] == 250:
                    replies.append(conn.rcpt(recipient))
                if replies[-1][0] in (250, 251):
                    conn.putcmd("data")
                    replies.append(conn.getreply())
            for (code, answer), accepted in zip(replies, ((250,), (250, 251), (354,)), strict=False):
                if code not in accepted:
                    if replies[-1][0] == 354:  # the server wants a message after all: end an empty one
                        conn.send(b".\r\n")
                        conn.getreply()
                    self._reset(conn)
                    raise _classify(code, answer)
            conn.send(data + b".\r\n")
            code, answer = conn.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise TemporaryFailure(f"the server closed the connection: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(f"connection to {self.host}:{self.port} failed: {exc}") from None
        if code == 421:
            self._drop()
        if code != 250:
            raise _classify(code, answer)

    @staticmethod
    def pipelining(conn: smtplib.SMTP) -> bool:
        return conn.has_extn("pipelining")

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def close(self) -> None:
        with self.lock:
            connections, self.connections = self.connections, []
        for conn in connections:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                with contextlib.suppress(OSError):
                    conn.close()


_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _classify(code: int, answer: bytes | str) -> DeliveryError:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    message = f"{code} {' '.join(text.split())}"[:300]
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)
