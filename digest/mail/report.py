"""What a send reports, and the breaker that stops it when the server (not a recipient) keeps failing."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Literal

#: Consecutive failures that are not about a recipient after which the run stops.
BREAKER_LIMIT = 3

Outcome = Literal["sent", "failed", "deferred", "server", "halt", "uncertain", "not started"]


@dataclass
class SendReport:
    digest_id: int
    slug: str = ""  # the digest's name (its date), as people see it
    queued: int = 0  # ledger rows added by this run
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # temporary failures of a recipient, left for a later run
    uncertain: int = 0  # no answer after the message: may have been delivered, not resent
    skipped: int = 0  # filtered subscribers with nothing to read
    bounced: int = 0  # subscribers marked bounced by this run
    stopped: bool = False
    halted: str | None = None  # why the breaker stopped the run: what the server (or the outbox) said
    left: int = 0  # deliveries still open when the run ended (queued, or claimed by another worker)
    left_with_others: int = 0  # of those, claimed by another worker that is still sending
    server_error: str | None = None  # the last failure that was not about a recipient (e.g. cannot connect)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.failed + self.deferred + self.uncertain + (1 if self.halted else 0)

    @property
    def work_left(self) -> bool:
        return self.left > 0


class Breaker:
    """Counts failures that are not about a recipient; trips on a permanent one or a few in a row."""

    def __init__(self, limit: int = BREAKER_LIMIT) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.tripped = threading.Event()
        self.reason: str | None = None

    def failure(self, message: str, *, permanent: bool) -> None:
        self.in_a_row += 1
        if permanent or self.in_a_row >= self.limit:
            self.trip(message)

    def success(self) -> None:
        self.in_a_row = 0

    def trip(self, message: str) -> None:
        if self.reason is None:
            self.reason = message
        self.tripped.set()
