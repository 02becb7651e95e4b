"""The sender's connection threads: when the sender fails, what no thread has taken is not sent."""

from __future__ import annotations

import threading

import pytest

from digest.mail.connections import Connections


def test_messages_no_thread_has_taken_are_not_sent_when_the_sender_fails() -> None:
    sent: list[int] = []
    taken, release = threading.Event(), threading.Event()

    def send(message: int) -> int:
        taken.set()
        release.wait()  # (the first message is on the wire while the sender fails)
        sent.append(message)
        return message

    with pytest.raises(RuntimeError, match="the store failed"), Connections(1, send) as connections:
        for message in range(5):
            connections.put(message)
        assert taken.wait(10)  # (the thread has the first message: the sender fails while it sends it)
        threading.Timer(0.2, release.set).start()
        raise RuntimeError("the store failed")
    assert sent == [0]  # (the others' claims stay open: a later send sends them once)


def test_every_message_handed_over_is_sent_when_the_sender_ends_normally() -> None:
    sent: list[int] = []
    with Connections(2, sent.append) as connections:
        for message in range(20):
            connections.put(message)
    assert sorted(sent) == list(range(20))
