"""A real SMTP server (aiosmtpd) on a free loopback port, with scripted failures."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Sink:
    """The handler: records messages; ``script`` answers chosen recipients with 4xx, 5xx or a dropped link."""

    received: list[Received] = field(default_factory=list)
    script: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    delay: float = 0.0  # seconds spent on each DATA (blocking the server, as a slow disk would)
    # Server-level faults, for every message: an answer to MAIL FROM, an answer after DATA, and
    # seconds to wait (without blocking other connections) before answering the final ".".
    mail_answer: str | None = None
    data_answer: str | None = None
    answer_after: float = 0.0
    on_message: Callable[[int], None] | None = None  # called with the count of messages taken so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, address: str, *answers: str) -> None:
        """Answer the next tries for ``address`` with these, in order: "450", "550", "451-data", "drop"."""
        self.script[address.lower()].extend(answers)

    def _next(self, address: str) -> str | None:
        with self.lock:
            queue = self.script.get(address.lower())
            return queue.popleft() if queue else None

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mail_answer:
            return self.mail_answer
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        action = self._next(address)
        if action == "450":
            return "450 4.2.1 Mailbox busy, try again later"
        if action == "550":
            return "550 5.1.1 No such user here"
        if action in ("451-data", "drop"):
            self.script[address.lower()].appendleft(action)  # acted on at DATA
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            queue = self.script.get(address.lower())
            if queue and queue[0] in ("451-data", "drop"):
                action = self._next(address)
                if action == "drop":
                    server.transport.close()
                    return "421 4.4.2 Connection dropped"
                return "451 4.3.0 Temporary server error"
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        if self.data_answer:
            return self.data_answer
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            taken = len(self.received)
        if self.on_message is not None:
            self.on_message(taken)
        return "250 2.0.0 Accepted"

    def by_recipient(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = defaultdict(list)
        with self.lock:
            for item in self.received:
                for address in item.rcpt_tos:
                    found[address].append(item)
        return found


@dataclass
class SMTPServer:
    sink: Sink
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer(sink, port)
    finally:
        controller.stop()


@dataclass
class TLSServers:
    """One sink behind two TLS servers: STARTTLS on one port, implicit TLS (SMTPS) on another."""

    sink: Sink
    starttls_port: int
    smtps_port: int
    ca_file: str


@pytest.fixture
def tls_smtp_servers(tmp_path: Any) -> Iterator[TLSServers]:
    """Servers with a certificate for 127.0.0.1 from a throwaway authority (trustme) that no system trusts."""
    import ssl

    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    sink = Sink()
    starttls_port, smtps_port = free_port(), free_port()
    starttls = Controller(sink, hostname="127.0.0.1", port=starttls_port, tls_context=context, require_starttls=True)
    smtps = Controller(sink, hostname="127.0.0.1", port=smtps_port, ssl_context=context, server_hostname="127.0.0.1")
    starttls.start()
    smtps.start()
    try:
        yield TLSServers(sink, starttls_port, smtps_port, str(ca_file))
    finally:
        starttls.stop()
        smtps.stop()
