"""The price of a document the gateway has not seen: parsing, validating and compiling it
takes CPU before its cost is known (about 15 ms for a 1.3 KB query of 30 aliases), and a
flood of distinct documents, each refused for its cost, would otherwise be free to send and
keep the event loop busy for everyone (issue 18: twenty addresses doing it took the catalog to
0%). Two bounds, both measured in the interpreter time preparing took (the preparing
thread's CPU time, see below):

- The client pays: what preparing took is charged to its budget of query cost
  (`points_per_ms` points a millisecond, refused or not), so a client can prepare new
  documents only as fast as its budget refills. A client whose budget is empty is refused
  before anything is parsed.
- A document refused for want of that share costs its client what a preparation typically
  costs: a flooding client pays for its refusals as for its documents, and soon gets 429s.
- The process keeps a share: new documents from all clients together may use at most
  `share` of the event loop's time (a leaky bucket of seconds, `burst` seconds deep);
  beyond it a new document gets 503 + Retry-After at once, while documents already
  prepared (every REST route's, every client's repeated ones) run as before.

New documents are prepared on one thread of their own, never on the event loop: a 15 ms
validation then yields to the loop at every switch of the interpreter's lock (5 ms) instead
of holding every other client's request for its whole length. At most `queue` of them wait
or run at once; beyond, Busy as well.

What a preparation took is that thread's CPU time, not its wall time. Its wall time also
counts the slices the loop ran in between (other clients' requests) and the time the OS gave
other processes: on two cores shared with other work, a document of 45 ms CPU measured
300-400 ms, so a new client's first large document (many-plans) emptied its own budget
(429) and the next new document from anyone was refused (503). CPU time is what the document
took from the interpreter everyone shares, whatever else runs; a flood of new documents
still pays for every one, and all of them together still get at most `share` of it.

In-process callers with no client (tests, tools) are not limited."""

from __future__ import annotations

import asyncio
import math
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = [
    "Busy",
    "PreparationCapacity",
    "PreparationLimits",
    "Timed",
    "share_the_interpreter",
]


@dataclass(frozen=True)
class PreparationLimits:
    # 4 points a ms: an ordinary new query (1 to 3 ms) costs 4 to 12 points once, a 15 ms
    # one 60; a budget refilled at 100 points a second prepares at most 25 ms of new
    # documents a second, and `share` caps all clients together.
    points_per_ms: float = 4.0
    # of the event loop's time, for all clients' new documents together: with half and a
    # burst of 2 s, 20 addresses flooding new documents put another client's p50 at 98 ms
    # (28 without the flood); with a fifth and 0.25 s, at 30 ms (tools/flood.py)
    share: float = 0.2
    burst: float = 0.25  # seconds that may be spent at once after a quiet spell
    queue: int = 8  # new documents being prepared or waiting for the preparing thread
    # how long the preparing thread keeps the interpreter's lock once the event loop wants
    # it (share_the_interpreter, below)
    switch_interval: float = 0.0005


def share_the_interpreter(limits: PreparationLimits) -> None:
    """Let the event loop have the interpreter back sooner while a document is prepared.

    A thread that wants the interpreter's lock waits until the holder has run for the
    switch interval (5 ms by default) before the holder is told to give it up. The event
    loop gives the lock up at every wait for its sockets, and so, while the preparing
    thread computes, waited up to 5 ms at each of a request's steps: a loop's round trip on
    a socket measured p99 24-25 ms beside a computing thread (about 1 ms quiet), 5.5-7.2 ms
    with an interval of 0.5 ms (tools/gil_convoy.py, two runs). With one thread running,
    nobody asks for the lock and the interval costs nothing; with two, only more handoffs.
    It is the process's setting: the gateway sets it once, at start."""
    sys.setswitchinterval(limits.switch_interval)


class Busy(Exception):
    """New documents have used the process's share of time: try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "the gateway is busy preparing new operations for other clients; "
            f"retry after {retry_after} s"
        )
        self.retry_after = retry_after


class PreparationCapacity:
    """The process's share of time for new documents: a leaky bucket of seconds, one per
    process (a reloaded supergraph keeps it)."""

    def __init__(
        self,
        limits: PreparationLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or PreparationLimits()
        self.clock = clock
        self._available = self.limits.burst
        self._updated = clock()
        self._queued = 0
        self.typical_seconds = 0.001  # a moving average of what a preparation takes
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")

    async def run(
        self, prepare: Callable[[], T], refusals: tuple[type[Exception], ...] = ()
    ) -> Timed[T]:
        """`prepare()` on the preparing thread, timed; `refusals` are the errors by which it
        refuses a document (kept without their traceback). Busy (nothing run)
        when the bucket is empty or `queue` documents are ahead. A document is let in while
        any time is left (it may take more: the debt delays the next ones)."""
        self._refill()
        if self._available <= 0:
            raise Busy(max(1, math.ceil(-self._available / self.limits.share)))
        if self._queued >= self.limits.queue:
            raise Busy(1)
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, _timed, prepare, refusals
            )
        finally:
            self._queued -= 1

    def spent(self, seconds: float) -> None:
        self.typical_seconds += (seconds - self.typical_seconds) / 16
        self._refill()
        # a debt of at most one burst: one huge document cannot shut the door for long
        self._available = max(-self.limits.burst, self._available - seconds)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    def points(self, seconds: float) -> int:
        """What preparing for `seconds` costs the client."""
        return math.ceil(seconds * 1000 * self.limits.points_per_ms)

    def _refill(self) -> None:
        now = self.clock()
        restored = (now - self._updated) * self.limits.share
        self._available = min(self.limits.burst, self._available + restored)
        self._updated = now


@dataclass(frozen=True)
class Timed(Generic[T]):
    """What preparing gave (a value, or the error that refused the document) and the
    seconds it took: the preparing thread's CPU time (waiting for the interpreter's lock
    while the loop serves others, or for a core, is not the document's)."""

    value: T | None
    error: Exception | None
    seconds: float

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def _timed(prepare: Callable[[], T], refusals: tuple[type[Exception], ...]) -> Timed[T]:
    started = time.thread_time()  # this thread's CPU time: run on the preparing thread
    try:
        value = prepare()
    except refusals as refusal:  # the document's own fault: what it says is all there is
        # its traceback (and the error it was raised from) would tie it to this thread's
        # frames, and through them to the work item that holds the result holding it: a
        # reference cycle of hundreds of objects (the syntax tree among them) per refused
        # document, garbage only the collector finds. A flood of documents refused for their
        # cost made every young collection walk tens of thousands of them, 50-100 ms stalls
        # for every other request. Without them it dies by reference counting
        refusal.__traceback__ = refusal.__context__ = refusal.__cause__ = None
        return Timed(None, refusal, time.thread_time() - started)
    except Exception as error:  # a bug: the traceback stays, so it is logged where it was
        # the frames' locals go: they hold the document's syntax tree (the same cycle, but
        # a bug is rare and its traceback is worth it)
        traceback.clear_frames(error.__traceback__)
        return Timed(None, error, time.thread_time() - started)
    return Timed(value, None, time.thread_time() - started)
