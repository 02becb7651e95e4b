"""The connection threads in a process of their own, so that sending takes nothing from building.

A Python process runs one thread at a time. Beside the sending thread, which ranks, assembles and records
every reader's mail, each connection thread waits its turn whenever the server answers, and the sending
thread waits for them in turn (measured on two cores, ``bench/send.py``'s 20,000 readers: about a fifth of
the time, the sender waited for its connections while they waited for it). So, for a transport whose work is
all on the wire (SMTP), the sender forks a *sending process* before its first message: it runs the same
:class:`~digest.mail.connections.Connections` threads with an interpreter of its own.

- Only what the wire needs crosses: each message's bytes as they are, through shared memory
  (:mod:`digest.mail.shared_ring`), and its recipient, envelope sender and key in a short header, through a
  pipe. Each outcome comes back with the message's number, written to a pipe by the connection thread that
  sent it (no thread between: a hand-over between threads costs the interpreter lock twice, and without one
  the process took a quarter less CPU); the sender keeps the message's ticket (its claim) and records every
  outcome itself, as it does with threads.
- :meth:`SendingProcess.halt` (a stop, or the breaker tripped) is passed on: the messages not started yet
  come back "not started", as they do from threads.
- When the sender ends (it says so), the process starts nothing more, finishes the messages on the wire,
  says QUIT and exits; what it had not started stays queued. When the sender dies (killed: the kernel
  closes its end of the pipe, and it never said it ends), the process exits at once, as its threads would
  have died with it: a message cut off mid-transfer is not delivered, and is sent again by a later run.
- When the process dies, the sender records the outcomes that came back and raises
  :class:`SendingProcessError`; the deliveries it held stay claimed until a later run finds their owner
  gone (under ``digest schedule``, whose process lives on, until the claims time out).

The process closes every file it inherits but its two pipes and the standard three (the sender's database
and run lock stay the sender's), and ignores SIGINT and SIGTERM (a terminal's Ctrl-C reaches the whole
process group): the sender decides what stops, and a stop is passed on as soon as it is asked for.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from digest.mail.connections import Connections, Failed, Ticket
from digest.mail.sending_wire import (
    END,
    ENDS,
    HALT,
    PIPE_BYTES,
    RECORD,
    Outgoing,
    SendingProcessError,
    frame,
    read_outcome,
    read_record,
    widen,
)
from digest.mail.shared_ring import SharedRing

#: Pieces of records written by one call at most (the kernel takes up to 1,024; a record may span two calls).
WRITTEN_AT_ONCE = 512

Result = TypeVar("Result")


def can_fork() -> bool:
    return hasattr(os, "fork")


class SendingProcess(Connections[Ticket, Outgoing, Result]):
    """``count`` connection threads running ``work`` in a forked process; see the module's description.

    ``on_halt`` runs in the process when the sender halts (it makes ``work`` start nothing more); ``finish``
    runs there at its end (the transport's QUIT)."""

    def __init__(
        self,
        count: int,
        work: Callable[[Outgoing], Result],
        *,
        on_halt: Callable[[], None],
        finish: Callable[[], None],
        stop: threading.Event | None = None,
        name: str = "digest-send",
    ) -> None:
        super().__init__(count, work, name=name)
        self.tickets: dict[int, Ticket] = {}
        self.numbered = 0
        self.halted = False
        self.closing = False
        self.gone = False  # (its pipe broke: the outcomes' reader says so once it has read them all)
        self.writing = threading.Lock()  # (the sending thread writes messages, the stop's watcher a halt)
        self.ring = SharedRing()
        tasks_in, tasks_out = os.pipe()
        outcomes_in, outcomes_out = os.pipe()
        try:
            for end in (tasks_out, outcomes_out):
                widen(end)
            self.pid = os.fork()
        except OSError:
            for end in (tasks_in, tasks_out, outcomes_in, outcomes_out):
                os.close(end)
            self.ring.close()
            raise
        if self.pid == 0:  # the sending process: never returns
            try:
                os.close(tasks_out)
                os.close(outcomes_in)
                _serve(count, work, on_halt, finish, tasks_in, outcomes_out, self.ring, name)
            finally:
                os._exit(1)
        os.close(tasks_in)
        os.close(outcomes_out)
        self.tasks_out = tasks_out
        self.reader = threading.Thread(target=self._read, args=(outcomes_in,), name=f"{name}-outcomes", daemon=True)
        self.reader.start()
        if stop is not None:
            threading.Thread(target=self._watch, args=(stop,), name=f"{name}-stop", daemon=True).start()

    def __enter__(self) -> SendingProcess[Ticket, Result]:
        return self

    def put(self, ticket: Ticket, task: Outgoing) -> None:
        self.put_many([(ticket, task)])

    def put_many(self, handed: Sequence[tuple[Ticket, Outgoing]]) -> None:
        """Hand messages over in one write of their records (a write wakes the process: one for a batch)."""
        parts: list[bytes | memoryview] = []
        try:
            for ticket, task in handed:
                head = pickle.dumps((self.numbered, task.recipient, task.key, task.sender))
                start = self.ring.take(self.numbered, task.data)
                if start is None:  # (the ring is full, or the message large: it follows its header)
                    parts += (RECORD.pack(len(head), -1, len(task.data)), head, task.data)
                else:
                    parts += (RECORD.pack(len(head), start, len(task.data)), head)
                self.tickets[self.numbered] = ticket
                self.numbered += 1
                self.pending += 1
        finally:  # (what was handed over before an error is written: its outcomes are awaited)
            with self.writing:  # (a halt from the stop's watcher must not land inside a record)
                self._write(parts)

    def halt(self) -> None:
        with self.writing:
            if not self.halted:
                self.halted = True
                self._write([RECORD.pack(0, 0, 0)])

    def close(self) -> None:
        """Let the process finish what it has started, and end."""
        with self.writing:
            if self.tasks_out < 0:
                return
            self.closing = True
            self._write([RECORD.pack(0, ENDS, 0)])
            os.close(self.tasks_out)
            self.tasks_out = -1
        os.waitpid(self.pid, 0)
        self.reader.join()
        self.ring.close()

    def _write(self, parts: list[bytes | memoryview]) -> None:
        """Records, or pieces of them, written whole in order (a full pipe takes part: the rest as the process reads
        on, from where the write stopped). When the process is gone, nothing: its outcomes' reader says so once the
        outcomes that came back are taken."""
        if self.gone or self.tasks_out < 0:
            return
        first = 0  # (the first piece not wholly written)
        try:
            while first < len(parts):
                written = os.writev(self.tasks_out, parts[first : first + WRITTEN_AT_ONCE])
                while first < len(parts) and written >= len(parts[first]):
                    written -= len(parts[first])
                    first += 1
                if written:
                    parts[first] = memoryview(parts[first])[written:]
        except OSError:
            self.gone = True

    def _watch(self, stop: threading.Event) -> None:
        """In a thread of the sender: a stop is passed on at once (the sending thread may be waiting)."""
        while not self.closing:
            if stop.wait(0.1):
                self.halt()
                return

    def _read(self, outcomes: int) -> None:
        """In a thread of the sender: each outcome, with its ticket, among the others (see :meth:`outcomes`)."""
        try:
            with os.fdopen(outcomes, "rb", buffering=1 << 16) as incoming:
                while (outcome := read_outcome(incoming)) is not None:
                    if isinstance(outcome, Failed):
                        self.results.put(outcome)
                    else:
                        number, result = cast(tuple[int, object], outcome)
                        self.ring.give_back(number)
                        self.results.put((self.tickets.pop(number), result))
        except BaseException as error:  # noqa: BLE001 (an outcome that cannot be read: the sender raises it)
            self.results.put(Failed(SendingProcessError(f"an outcome of the sending process is unreadable: {error!r}")))
        if not self.closing:
            ended = SendingProcessError("the sending process ended unexpectedly")
            self.results.put(Failed(ended))


def _serve(
    count: int,
    work: Callable[[Outgoing], object],
    on_halt: Callable[[], None],
    finish: Callable[[], None],
    tasks: int,
    outcomes: int,
    ring: SharedRing,
    name: str,
) -> None:
    """The sending process: takes messages until the sender's end of the pipe closes, then exits."""
    code = 0
    try:
        _close_all_but(tasks, outcomes)
        gc.freeze()  # (its collections walk only what it makes, not the sender's heap: no page is copied for it)
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        connections = _Reporting(count, work, name=name, outcomes=outcomes)
        with os.fdopen(tasks, "rb", buffering=PIPE_BYTES) as incoming:
            while (record := read_record(incoming, ring)) is not None:
                if record is HALT:
                    on_halt()
                elif record is END:
                    break
                else:
                    connections.put(*record)
            else:  # (the sender died without a word: as its threads would have, the process goes at once)
                os._exit(1)
        on_halt()  # (the sender ends: nothing more starts)
        connections.drop_waiting()
        connections.close()
        connections.report(None)  # (said, not left to the pipe's end: a process forked meanwhile may hold that end)
        finish()
    except BaseException:  # noqa: BLE001 (the sender sees the process end, and says so)
        traceback.print_exc(file=sys.stderr)
        code = 1
    finally:
        os._exit(code)  # (nothing of the sender's, inherited, is closed or flushed here: its database stays its own)


class _Reporting(Connections[int, Outgoing, object]):
    """In the sending process: the connection threads, each writing its outcomes to the sender itself (one small
    write, no thread between: a hand-over between threads costs the interpreter lock twice)."""

    def __init__(self, count: int, work: Callable[[Outgoing], object], *, name: str, outcomes: int) -> None:
        super().__init__(count, work, name=name)
        self.out = outcomes
        self.lock = threading.Lock()
        self.gone = False

    def report(self, outcome: object) -> None:
        framed = frame(outcome)
        with self.lock:  # (one outcome whole: a large one is more than the pipe writes at once)
            if self.gone:
                return
            try:
                view = memoryview(framed)
                while view:
                    view = view[os.write(self.out, view) :]
            except OSError:  # (the sender is gone: nothing can be recorded; the rest is dropped)
                self.gone = True


def _close_all_but(*kept: int) -> None:
    """In the sending process: every file it inherited closed but its pipes and the standard three (the sender's
    database, its run lock, another send's pipes: what the process holds, the sender cannot close)."""
    start = 0
    for descriptor in sorted({0, 1, 2, *kept}):
        if start < descriptor:  # (an empty range is not nothing to Python's closerange: it closes every file)
            os.closerange(start, descriptor)
        start = descriptor + 1
    os.closerange(start, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096)
