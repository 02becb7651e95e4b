"""The sender's connections, as threads beside it or in a sending process of their own: every message handed
over comes back with its ticket; when the sender fails or halts, what was not started is not sent."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from digest.mail.connections import Connections
from digest.mail.sending_process import SendingProcess
from digest.mail.sending_wire import Outgoing, SendingProcessError


def test_messages_no_thread_has_taken_are_not_sent_when_the_sender_fails() -> None:
    sent: list[int] = []
    taken, release = threading.Event(), threading.Event()

    def send(message: int) -> int:
        taken.set()
        release.wait()  # (the first message is on the wire while the sender fails)
        sent.append(message)
        return message

    with pytest.raises(RuntimeError, match="the store failed"), Connections[int, int, int](1, send) as connections:
        for message in range(5):
            connections.put(message, message)
        assert taken.wait(10)  # (the thread has the first message: the sender fails while it sends it)
        threading.Timer(0.2, release.set).start()
        raise RuntimeError("the store failed")
    assert sent == [0]  # (the others' claims stay open: a later send sends them once)


def test_every_message_handed_over_is_sent_when_the_sender_ends_normally() -> None:
    sent: list[int] = []
    with Connections[int, int, None](2, sent.append) as connections:
        for message in range(20):
            connections.put(message, message)
    assert sorted(sent) == list(range(20))


# -- the sending process ------------------------------------------------------------------------------


def message(number: int) -> Outgoing:
    return Outgoing(f"reader{number}@example.org", b"Subject: %d\r\n\r\n" % number + b"x" * 90_000, f"k{number}", None)


def taken_back(connections: SendingProcess[Any, object], count: int) -> list[Any]:
    """Every outcome of ``count`` messages, as the sending thread takes them back."""
    outcomes: list[object] = []
    while len(outcomes) < count:
        taken, failure = connections.outcomes()
        if failure is not None:
            raise failure
        connections.done(len(taken))
        outcomes += taken
    return outcomes


def test_a_sending_process_sends_every_message_whole_and_hands_back_each_outcome_with_its_ticket(
    tmp_path: Path,
) -> None:
    def send(outgoing: Outgoing) -> tuple[int, str, int]:
        return os.getpid(), outgoing.recipient, len(outgoing.data)

    with SendingProcess[str, object](3, send, on_halt=lambda: None, finish=lambda: None) as connections:
        for number in range(40):
            connections.put(f"claim {number}", message(number))
        outcomes = taken_back(connections, 40)
    assert sorted(outcomes) == sorted(
        (f"claim {n}", (connections.pid, f"reader{n}@example.org", len(message(n).data))) for n in range(40)
    )
    assert connections.pid != os.getpid()  # (sent by another process: the sender's threads wait for nobody)


def test_messages_handed_over_together_cross_whole_in_the_ring_or_through_the_pipe() -> None:
    """A batch is written at once: more records than one write takes, more messages than the ring holds (the
    rest follow their records through the pipe), and one too large for the ring."""
    import hashlib

    def send(outgoing: Outgoing) -> str:
        return hashlib.sha256(outgoing.data).hexdigest()

    batch = [message(number) for number in range(299)]
    batch.append(Outgoing("large@example.org", b"Subject: large\r\n\r\n" + b"y" * 5_000_000, "large", None))
    with SendingProcess[int, object](4, send, on_halt=lambda: None, finish=lambda: None) as connections:
        connections.put_many(list(enumerate(batch)))
        outcomes = taken_back(connections, len(batch))
    assert sorted(outcomes) == sorted((number, hashlib.sha256(m.data).hexdigest()) for number, m in enumerate(batch))


def test_a_halted_sending_process_starts_nothing_more_and_says_so(tmp_path: Path) -> None:
    halted = threading.Event()  # (the process's own copy, set by on_halt there)

    def send(outgoing: Outgoing) -> str:
        if halted.is_set():
            return "not started"
        time.sleep(0.2)  # (the halt comes while the first is on the wire)
        return "sent"

    with SendingProcess[int, object](1, send, on_halt=halted.set, finish=lambda: None) as connections:
        for number in range(20):
            connections.put(number, message(number))
        connections.halt()
        outcomes: dict[int, str] = dict(taken_back(connections, 20))
    assert sorted(outcomes) == list(range(20))  # every message comes back, to be recorded or put back
    assert list(outcomes.values()).count("not started") >= 15
    assert not halted.is_set()  # (the sender's own event: the process only had a copy)


def test_what_the_sending_process_had_not_started_is_not_sent_when_the_sender_fails(tmp_path: Path) -> None:
    log = tmp_path / "sent"

    started = tmp_path / "started"

    def send(outgoing: Outgoing) -> None:
        started.touch()
        time.sleep(0.3)  # (the first message is on the wire while the sender fails)
        with log.open("a") as out:
            out.write(outgoing.key + "\n")

    finished = tmp_path / "finished"
    with (
        pytest.raises(RuntimeError, match="the store failed"),
        SendingProcess[int, object](1, send, on_halt=lambda: None, finish=finished.touch) as connections,
    ):
        for number in range(5):
            connections.put(number, message(number))
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise RuntimeError("the store failed")
    assert log.read_text().split() == ["k0"]  # the message on the wire was finished, no other started
    assert finished.exists()  # (and the transport said goodbye to its server)


def test_a_killed_sending_process_is_noticed_at_once() -> None:
    def send(outgoing: Outgoing) -> None:
        if outgoing.key == "k3":
            os._exit(9)  # (as if killed: no outcome, no goodbye)

    with SendingProcess[int, object](1, send, on_halt=lambda: None, finish=lambda: None) as connections:
        for number in range(6):
            connections.put(number, message(number))
        with pytest.raises(SendingProcessError, match="ended unexpectedly"):
            taken_back(connections, 6)


class Unpicklable(Exception):
    """An error that cannot cross to the sender as it is: it comes back in words."""

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("not this one")


@pytest.mark.parametrize(
    ("error", "said"),
    [(KeyError("a plain error"), KeyError), (Unpicklable("a strange error"), SendingProcessError)],
)
def test_an_unexpected_error_in_the_sending_process_comes_back_to_the_sender(
    error: Exception, said: type[Exception]
) -> None:
    def send(outgoing: Outgoing) -> None:
        if outgoing.key == "k1":
            raise error

    with SendingProcess[int, object](1, send, on_halt=lambda: None, finish=lambda: None) as connections:
        for number in range(3):
            connections.put(number, message(number))
        with pytest.raises(said, match=str(error.args[0])):
            taken_back(connections, 3)


def test_a_sending_process_whose_sender_dies_goes_at_once_without_finishing_what_it_sends(tmp_path: Path) -> None:
    """As the connection threads would have died with the sender: a message cut off mid-transfer is not
    delivered (a later run sends it), rather than delivered with nobody left to record it."""
    log, started = tmp_path / "sent", tmp_path / "started"

    def send(outgoing: Outgoing) -> None:
        started.touch()
        time.sleep(0.5)
        with log.open("a") as out:
            out.write(outgoing.key + "\n")

    finished = tmp_path / "finished"
    connections = SendingProcess[int, object](1, send, on_halt=lambda: None, finish=finished.touch)
    for number in range(3):
        connections.put(number, message(number))
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.close(connections.tasks_out)  # (as the kernel does for a sender killed: its end closes without a word)
    _, status = os.waitpid(connections.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
    assert not log.exists() and not finished.exists()


def test_a_stop_reaches_the_sending_process_while_the_sender_waits(tmp_path: Path) -> None:
    """A stop (SIGTERM, set from the sender's signal handler) is passed on at once, not when the sending thread
    next comes round: a connection that finishes its message starts no other."""
    stop = threading.Event()
    halted = threading.Event()

    def send(outgoing: Outgoing) -> str:
        if halted.wait(10 if outgoing.key == "k0" else 0):  # (the first is on the wire until the stop comes)
            return "not started"
        return "sent"

    with SendingProcess[int, object](1, send, on_halt=halted.set, finish=lambda: None, stop=stop) as connections:
        for number in range(4):
            connections.put(number, message(number))
        stop.set()  # (the sending thread is not told: it is about to wait for outcomes)
        outcomes: dict[int, str] = dict(taken_back(connections, 4))
    assert outcomes == dict.fromkeys(range(4), "not started")


def test_a_sending_process_holds_none_of_the_senders_files(tmp_path: Path) -> None:
    """The sender's database, its run lock, another send's pipes: the process closes what it inherited, so that
    a lock is released and a pipe ends when the sender lets go of them."""
    with (tmp_path / "lock").open("w") as held:

        def send(outgoing: Outgoing) -> bool:
            try:
                os.fstat(held.fileno())
            except OSError:
                return False
            return True

        with SendingProcess[int, object](1, send, on_halt=lambda: None, finish=lambda: None) as connections:
            connections.put(0, message(0))
            (outcome,) = taken_back(connections, 1)
    assert outcome == (0, False)
