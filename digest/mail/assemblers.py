"""Building readers' messages on every core: ranking and assembly in forked worker processes.

Ranking and assembling a reader's mail is pure CPU work, and a Python process
runs one thread at a time: done beside the SMTP connections in one process, it
leaves other cores idle. With more than two cores (on two, a worker costs more
than it gives: see :func:`default_processes`), a batch of readers is split among worker processes forked from
the sender (they inherit the digest's rendered blocks and ranking rows, nothing is
re-rendered or pickled but the readers in and the messages out). A reader whose
rows a worker did not inherit (a vote that came in during the send) is ranked by
the sender, and their ranking goes in with them. The workers
only compute: they open no connection and write nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.mail.mailer import Mailer
from digest.models import Profile, Subscriber
from digest.ranking.rank import Ranking

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


@dataclass(frozen=True, slots=True)
class Order:
    subscriber: Subscriber
    profile: Profile
    message_id: str
    ranking: Ranking | None = None  # made by the sender (else by the worker, from the rows it inherited)


#: How often a worker checks that the sender still runs (seconds).
PARENT_CHECK = 0.2
_inherited: tuple[Mailer, bytes] | None = None  # what a forked worker builds with


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the sender is gone (killed, it cannot shut its workers down)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="digest-parent-watch", daemon=True).start()


def _build(orders: Sequence[Order]) -> list[bytes | None]:
    assert _inherited is not None, "a worker builds only what its parent set up before forking"
    mailer, secret = _inherited
    return build(mailer, secret, orders)


def build(mailer: Mailer, secret: bytes, orders: Sequence[Order]) -> list[bytes | None]:
    """The orders' messages (None: the reader's filter leaves nothing), in order."""
    unranked = [(order.subscriber, order.profile) for order in orders if order.ranking is None]
    made = iter(mailer.rank_many(unranked))
    built: list[bytes | None] = []
    for order in orders:
        ranking = order.ranking or next(made)
        personal = order.profile.personal
        built.append(
            mailer.message(order.subscriber, ranking, personal=personal, secret=secret, message_id=order.message_id)
        )
    return built


def default_processes() -> int:
    """Worker processes: one per core beyond the first two, up to 4. The sender (its SMTP threads, the
    database, taking each message back) keeps one core busy, and the mail server or the rest of the machine
    another. Measured on two cores (``bench/send.py``'s 2,000 readers): one worker took 1.6-1.9 s of CPU
    where the sender alone took 1.1-1.3 s (each message, some 85 KB, copied back through a pipe, pages copied
    after the fork), and the send was as slow or slower. None: the sender builds the messages itself."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(cores - 2, 4))


def _fork_pool(processes: int, mailer: Mailer, secret: bytes) -> ProcessPoolExecutor | None:
    """Worker processes forked now, before the sender starts its threads (None where fork is not offered).
    multiprocessing is loaded only here: most sends on two cores fork none."""
    global _inherited
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    _inherited = (mailer, secret)
    pool = ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("fork"), initializer=_watch_parent, initargs=(os.getpid(),)
    )
    pool.submit(int).result()  # (every worker forked)
    return pool


class Assemblers:
    """Builds batches of messages, in worker processes when there are cores to spare."""

    def __init__(self, mailer: Mailer, secret: bytes, processes: int | None = None) -> None:
        self.mailer = mailer
        self.secret = secret
        self.processes = default_processes() if processes is None else processes
        self.pool = _fork_pool(self.processes, mailer, secret) if self.processes > 0 else None
        self.inherited = mailer.ranker.holds() if self.pool is not None else frozenset()

    def ranks(self, profile: Profile) -> bool:
        """Whether a worker can rank this reader: it inherited every row their profile needs."""
        return self.pool is not None and self.mailer.ranker.rows.needs(profile) <= self.inherited

    def submit(self, orders: Sequence[Order]) -> Future[list[bytes | None]]:
        """The orders' messages, built by a worker process (or here, when there is none)."""
        if self.pool is not None:
            return self.pool.submit(_build, list(orders))
        done: Future[list[bytes | None]] = Future()
        done.set_result(build(self.mailer, self.secret, orders))  # an error raises here, as in a worker's result
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def __enter__(self) -> Assemblers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
