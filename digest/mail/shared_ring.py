"""Where messages wait for the sending process: a buffer both processes see, handed out as a ring.

Written into shared memory, a message crosses to the sending process in one copy, made by the sender; through
a pipe it took two, and the kernel's pipe pages (measured: some 50 µs a message of 85 KB, against 8 µs).
Space is taken in order at the head and given back in any order (outcomes come back out of order from
several connections); it is reused once everything before it is back. When no space is free, or a message
is larger than a quarter of the ring, :meth:`SharedRing.take` says so and the message crosses the pipe
instead: the ring never makes the sender wait.
"""

from __future__ import annotations

import mmap
import threading
from collections import deque

#: The ring's size: some 190 messages of 85 KB (a send keeps 16 a connection in flight).
RING_BYTES = 16 * 2**20


class _Held:
    __slots__ = ("back", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.back = False


class SharedRing:
    """Anonymous shared memory (a forked process sees the same pages) and its allocation, kept by the sender
    alone: :meth:`take` from the sending thread, :meth:`give_back` from the one that reads outcomes."""

    def __init__(self, size: int = RING_BYTES) -> None:
        self.size = size
        self.memory = mmap.mmap(-1, size)  # (MAP_SHARED: shared with the processes forked after)
        self.head = 0  # where the next message goes
        self.held: deque[_Held] = deque()  # in the order taken
        self.by_number: dict[int, _Held] = {}
        self.lock = threading.Lock()

    def take(self, number: int, data: bytes | memoryview) -> int | None:
        """Copy ``data`` into the ring for message ``number``; where it starts, or None when it does not fit."""
        length = len(data)
        if length > self.size // 4:
            return None
        with self.lock:
            start = self._free(length)
            if start is None:
                return None
            self.head = start + length
            held = _Held(start)
            self.held.append(held)
            self.by_number[number] = held
        self.memory[start : start + length] = data
        return start

    def give_back(self, number: int) -> None:
        """Message ``number``'s outcome is back: its space can be reused (with all taken before it)."""
        with self.lock:
            held = self.by_number.pop(number, None)
            if held is None:  # (it crossed the pipe)
                return
            held.back = True
            while self.held and self.held[0].back:
                self.held.popleft()
            if not self.held:
                self.head = 0

    def read(self, start: int, length: int) -> memoryview:
        """In the sending process: a message's bytes where they are (valid until its outcome is back)."""
        return memoryview(self.memory)[start : start + length]

    def _free(self, length: int) -> int | None:
        if not self.held:
            return 0
        tail, head = self.held[0].start, self.head
        if head > tail:  # free: from the head to the end, and from the start to the tail
            if head + length <= self.size:
                return head
            return 0 if length <= tail else None
        if head < tail and head + length <= tail:  # free: from the head to the tail
            return head
        return None  # (head == tail with messages held: full)

    def close(self) -> None:
        self.memory.close()
