"""The sender's connection threads: messages in through one queue, outcomes out through another.

Each thread keeps its transport's connection (see :mod:`digest.mail.smtp`) and
only speaks SMTP; the sending thread takes every outcome back, with the ticket the
message was handed over with (what the sender records it by), and records it. A
message's trip costs two queue operations: no future per message, and no waiting on
a set of them (which looks at every message in flight each time one comes back).
An unexpected error in a thread comes back in its outcome's place, for the sending
thread to raise. When the sending thread leaves on an error, the messages no thread
has taken yet are dropped, not sent: their outcomes could no longer be recorded, so
a later send would send them again.

:class:`~digest.mail.sending_process.SendingProcess` runs the same threads in a process of
their own, for a transport whose work is all on the wire (see there).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Ticket = TypeVar("Ticket")
Task = TypeVar("Task")
Result = TypeVar("Result")


class Failed:
    """An unexpected error of a connection thread, on its way to the sending thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Connections(Generic[Ticket, Task, Result]):
    """``count`` threads that run ``work`` on each task handed to them, started as the first tasks come.
    Each outcome comes back as ``(ticket, result)``, the ticket as the task was handed over with."""

    def __init__(self, count: int, work: Callable[[Task], Result], *, name: str = "digest-send") -> None:
        self.count = count
        self.work = work
        self.name = name
        self.tasks: queue.SimpleQueue[tuple[Ticket, Task] | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.pending = 0  # tasks handed over whose outcome has not been taken back

    def put(self, ticket: Ticket, task: Task) -> None:
        self.pending += 1
        if len(self.threads) < min(self.count, self.pending):  # (a connection per message waiting, at most count)
            thread = threading.Thread(target=self._run, name=f"{self.name}_{len(self.threads)}", daemon=True)
            self.threads.append(thread)
            thread.start()
        self.tasks.put((ticket, task))

    def put_many(self, handed: Sequence[tuple[Ticket, Task]]) -> None:
        """:meth:`put` each task, with its ticket, in order."""
        for ticket, task in handed:
            self.put(ticket, task)

    def halt(self) -> None:
        """The sender stopped or its breaker tripped: the threads see it themselves (the work checks the same
        events); a separate process is told (see :class:`~digest.mail.sending_process.SendingProcess`)."""

    def notify(self, item: object) -> None:
        """Wake the sending thread with ``item`` among the outcomes (another kind of news: see :meth:`outcomes`)."""
        self.results.put(item)

    def outcomes(self) -> tuple[list[object], BaseException | None]:
        """Wait for at least one outcome (or notice), then take every one that has come in; and a thread's
        unexpected error among them, if one came (to be raised once the others are recorded)."""
        taken = [self.results.get()]
        while True:
            try:
                taken.append(self.results.get_nowait())
            except queue.Empty:
                break
        failed = [item for item in taken if isinstance(item, Failed)]
        if failed:
            self.pending -= len(failed)
            return [item for item in taken if not isinstance(item, Failed)], failed[0].error
        return taken, None

    def done(self, count: int) -> None:
        """``count`` outcomes were taken back."""
        self.pending -= count

    def _run(self) -> None:
        while True:
            handed = self.tasks.get()
            if handed is None:
                return
            ticket, task = handed
            try:
                outcome: object = (ticket, self.work(task))
            except BaseException as error:  # noqa: BLE001 (handed to the sending thread, which raises it)
                outcome = Failed(error)
            self.report(outcome)

    def report(self, outcome: object) -> None:
        """Hand an outcome back (to the sending thread: see :meth:`outcomes`)."""
        self.results.put(outcome)

    def close(self) -> None:
        """Let every thread finish the tasks handed to it, and end."""
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []

    def __enter__(self) -> Connections[Ticket, Task, Result]:
        return self

    def __exit__(self, error: type[BaseException] | None, *exc: object) -> None:
        if error is not None:  # (the sender failed: what no thread has taken yet is not sent, to be sent later)
            self.drop_waiting()
        self.close()

    def drop_waiting(self) -> None:
        """Drop the tasks no thread has taken yet (they are not sent)."""
        while True:
            try:
                self.tasks.get_nowait()
            except queue.Empty:
                return
