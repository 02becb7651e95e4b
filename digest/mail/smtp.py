"""SMTP from a URL: each thread keeps its own connection, reused; MAIL, RCPT and DATA pipelined when offered;
a rate limit, which holds per process (several ``digest send`` processes each keep to it); timeouts for
connecting, each command, and the answer to a message's final ".". Its failures say whose problem they are
(see :mod:`digest.mail.transport`)."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from digest.mail.transport import (
    LINE_END,
    DeliveryError,
    MaybeDelivered,
    PermanentFailure,
    ServerFailure,
    TemporaryFailure,
)


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


class SMTPTransport:
    """SMTP from a URL: smtp://host[:25], smtp+starttls://user:pass@host[:587], smtps://user:pass@host[:465].

    TLS certificates are verified against the system's authorities; ``?cafile=PATH`` in the URL
    trusts another authority, ``?verify=off`` accepts any certificate (a test server on one's own
    network, never across the internet).
    """

    sends_apart = True

    def __init__(
        self, url: str, *, sender: str, timeout: float, rate: float, data_timeout: float | None = None
    ) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        # Loading the system's certificates takes a while: only for a TLS connection.
        self.tls = tls_context(parse_qs(parts.query)) if self.scheme != "smtp" else None
        self.envelope_from = parseaddr(sender)[1]
        self.timeout = timeout
        self.data_timeout = data_timeout or timeout
        self.limiter = RateLimiter(rate)
        self.local = threading.local()
        self.connections: list[smtplib.SMTP] = []
        self.lock = threading.Lock()

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.scheme == "smtps":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.scheme == "smtp+starttls":
                    conn.starttls(context=self.tls)
            conn.ehlo_or_helo_if_needed()
            if self.username:
                conn.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ServerFailure(
                f"the SMTP server {self.server} refused the login ({exc.smtp_code})",
                permanent=True,
                hint="check the user and password in DIGEST_SMTP_URL",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise ServerFailure(
                f"the certificate of {self.server} does not verify: {exc.verify_message}",
                permanent=True,
                hint="fix the server's certificate, or add ?cafile=PATH to DIGEST_SMTP_URL to trust its authority",
            ) from None
        except smtplib.SMTPConnectError as exc:
            answer = _answer(exc.smtp_code, exc.smtp_error)
            raise ServerFailure(f"{self.server} refused the connection: {answer}") from None
        except (OSError, smtplib.SMTPException) as exc:
            if _timed_out(exc):
                raise ServerFailure(
                    f"no answer from {self.server} within {self.timeout:g} s while connecting"
                ) from None
            raise ServerFailure(f"cannot connect to {self.server}: {exc}") from None
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
        data = LINE_END.sub(b"\r\n", data)
        data = _LEADING_DOT.sub(b"..", data)
        return data if data.endswith(b"\r\n") else data + b"\r\n"

    def send(self, recipient: str, data: bytes | memoryview, *, key: str, sender: str | None = None) -> None:
        """Send ``data`` (in wire format) to one recipient; MAIL, RCPT and DATA pipelined when offered."""
        self.limiter.acquire()
        conn = self._connection()
        try:
            self._envelope(conn, recipient, sender or self.envelope_from)
            _send_ended(conn, data)
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise ServerFailure(self._lost(exc, "before the message was complete")) from None
        # RFC 5321 4.5.3.2.6: the answer to the final "." may take up to 10 minutes.
        try:
            if conn.sock is not None:
                conn.sock.settimeout(self.data_timeout)
            code, answer = conn.getreply()
            if conn.sock is not None:
                conn.sock.settimeout(self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            message = self._lost(exc, "after the message was sent", timeout=self.data_timeout)
            if _timed_out(exc):  # the server may still be working on it: sending it again could duplicate it
                raise MaybeDelivered(message) from None
            raise ServerFailure(message) from None  # a closed connection: the server did not take it
        if code == 421:
            self._drop()
        if code != 250:
            raise ServerFailure(f"the server did not take the message: {_answer(code, answer)}", permanent=code >= 500)

    def _envelope(self, conn: smtplib.SMTP, recipient: str, sender: str) -> None:
        """MAIL, RCPT and DATA; raises the failure each refusal means."""
        if self.pipelining(conn):
            conn.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
            replies = [conn.getreply(), conn.getreply(), conn.getreply()]
        else:
            replies = [conn.mail(sender)]
            if replies[0][0] == 250:
                replies.append(conn.rcpt(recipient))
            if replies[-1][0] in (250, 251):
                conn.putcmd("data")
                replies.append(conn.getreply())
        for step, ((code, answer), accepted) in enumerate(zip(replies, ((250,), (250, 251), (354,)), strict=False)):
            if code in accepted:
                continue
            if replies[-1][0] == 354:  # the server wants a message after all: end an empty one
                conn.send(b".\r\n")
                conn.getreply()
            self._reset(conn)
            text = _answer(code, answer)
            if code == 421:
                self._drop()
            if step == 1 and code != 421:  # RCPT's answer is about the recipient
                raise PermanentFailure(text) if code >= 500 else TemporaryFailure(text)
            refused = f"refused the sender <{sender}>"
            what = (refused, "ended the session", "refused to take a message")[step]
            raise ServerFailure(f"the server {what}: {text}", permanent=500 <= code < 600)

    @staticmethod
    def pipelining(conn: smtplib.SMTP) -> bool:
        return conn.has_extn("pipelining")

    def _lost(self, exc: BaseException, when: str, *, timeout: float | None = None) -> str:
        if _timed_out(exc):
            return f"no answer from {self.server} within {timeout or self.timeout:g} s {when}"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"{self.server} closed the connection {when}"
        return f"the connection to {self.server} failed {when}: {exc}"

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


def _send_ended(conn: smtplib.SMTP, data: bytes | memoryview) -> None:
    """The message and its final ".", in one write without joining them (a message is large: the join was a
    copy of it). Over TLS, joined (an encrypted socket writes one buffer at a time)."""
    sock = conn.sock
    if sock is None:
        raise smtplib.SMTPServerDisconnected("not connected")
    if isinstance(sock, ssl.SSLSocket):
        sock.sendall(bytes(data) + _END)
        return
    sent = sock.sendmsg([data, _END])
    whole = len(data) + len(_END)
    if sent < whole:  # (the socket's buffer took part of it: the rest, joined, as it drains)
        sock.sendall((bytes(memoryview(data)[sent:]) + _END) if sent < len(data) else _END[sent - len(data) :])


def tls_context(options: dict[str, list[str]]) -> ssl.SSLContext:
    """The TLS settings of DIGEST_SMTP_URL's query: ``cafile=PATH`` and ``verify=off``."""
    context = ssl.create_default_context(cafile=options.get("cafile", [None])[-1])
    if options.get("verify", ["on"])[-1].lower() in ("off", "no", "false", "0"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


_END = b".\r\n"
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _timed_out(exc: BaseException) -> bool:
    """smtplib reports a timeout while reading as "Connection unexpectedly closed: timed out"."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc)


def _answer(code: int, answer: bytes | str) -> str:
    """A server's answer as one short line: "550 5.7.1 Relaying denied"."""
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return f"{code} {' '.join(text.split())}"[:300]
