"""A real SMTP server (aiosmtpd) on a free loopback port, with scripted failures."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
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
    delay: float = 0.0  # seconds spent on each DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, address: str, *answers: str) -> None:
        """Answer the next tries for ``address`` with these, in order: "450", "550", "451-data", "drop"."""
        self.script[address.lower()].extend(answers)

    def _next(self, address: str) -> str | None:
        with self.lock:
            queue = self.script.get(address.lower())
            return queue.popleft() if queue else None

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
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
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
