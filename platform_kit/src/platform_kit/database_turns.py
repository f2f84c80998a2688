"""Turns at the database: a process's requests read it `concurrency` at a time, and when every
turn is taken, the next one goes to the waiting client that has used the database least lately.

Why: admission control bounds requests, not what each one reads. One admitted request of a
flood (thirty listings in one GraphQL document) reads the database a hundred times, and the
embedded database serves concurrent reads by sharing one interpreter, so every read of a
person's page used to queue behind all of the flood's. With turns, a read waits for one turn
to end, not for the flood's backlog, and then runs beside at most `concurrency - 1` others.
Least-used-first (the seconds of turns a client held, halved every `half_life` seconds) puts a
person's few reads before a flood's many; a client alone still gets every turn.

A turn is taken around one bounded read (a listing's window, a batch of entities), never
around work that takes another turn, so turns cannot wait on each other. A wait is bounded:
by the request's database deadline (platform_kit.deadline), past which it fails as the
database's own timeout does (503 SERVICE_UNAVAILABLE), and by `max_waiting` waiting reads in
the process, beyond which a read fails at once the same way (contract, Capacity: a service
at its limit answers 503 at once). Work outside a request (upkeep, imports, change feeds) takes
no turn.

Needs the kit's `mongo` extra (PyMongo): the failures are PyMongo's."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import Counter
from pymongo.errors import ExecutionTimeout

__all__ = ["DATABASE_TURN_WAITS", "DatabaseTurns", "TurnRefused", "database_turn", "taking_turns"]

HALF_LIFE_SECONDS = 1.0
MAX_WAITING = 1024  # reads waiting for a turn in one process
FORGET_BELOW_SECONDS = 1e-4  # a client's usage decayed below this is forgotten
REMEMBERED_CLIENTS = 4096  # past this many, the forgotten ones are dropped

DATABASE_TURN_WAITS = Counter(
    "database_turn_waits_total",
    "Database reads of a request that waited for a turn, by outcome",
    ["outcome"],
)


class TurnRefused(ExecutionTimeout):
    """No turn within the request's deadline, or too many reads waiting: the database is
    busy, which the services answer as they answer its own timeout (503)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"database busy: {reason}", code=50)


@dataclass(slots=True)
class _Usage:
    seconds: float
    at: float


class DatabaseTurns:
    def __init__(
        self,
        concurrency: int,
        *,
        half_life: float = HALF_LIFE_SECONDS,
        max_waiting: int = MAX_WAITING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.free = concurrency
        self.half_life = half_life
        self.max_waiting = max_waiting
        self.clock = clock
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self.waiting_count = 0
        self.usage: dict[str, _Usage] = {}

    @asynccontextmanager
    async def turn(self, client: str, deadline: float | None = None) -> AsyncIterator[None]:
        """Hold one turn for the block; `deadline` (this clock) bounds the wait for it."""
        await self._take(client, deadline)
        started = self.clock()
        try:
            yield
        finally:
            self._record(client, self.clock() - started)
            self._pass_on()

    def used(self, client: str) -> float:
        """The seconds of turns `client` held, decayed to now."""
        usage = self.usage.get(client)
        if usage is None:
            return 0.0
        return usage.seconds * math.pow(0.5, (self.clock() - usage.at) / self.half_life)

    async def _take(self, client: str, deadline: float | None) -> None:
        if self.free and not self.waiting_count:
            self.free -= 1
            return
        if self.waiting_count >= self.max_waiting:
            DATABASE_TURN_WAITS.labels("refused").inc()
            raise TurnRefused(f"{self.waiting_count} reads are waiting")
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(client, deque()).append(granted)
        self.waiting_count += 1
        try:
            if deadline is None:
                await granted
            else:
                async with asyncio.timeout_at(_loop_time(deadline, self.clock)):
                    await granted
        except BaseException as error:
            if granted.done() and not granted.cancelled():
                self._pass_on()  # given a turn while leaving: the next waiter has it
            else:
                granted.cancel()
                self._forget_waiter(client, granted)
            if isinstance(error, TimeoutError):
                DATABASE_TURN_WAITS.labels("timed_out").inc()
                raise TurnRefused("no turn within the request's deadline") from None
            raise
        DATABASE_TURN_WAITS.labels("granted").inc()

    def _forget_waiter(self, client: str, granted: asyncio.Future[None]) -> None:
        queue = self.waiting.get(client)
        if queue is None or granted not in queue:
            return
        queue.remove(granted)
        self.waiting_count -= 1
        if not queue:
            del self.waiting[client]

    def _pass_on(self) -> None:
        """A turn is free: the least-used waiting client's oldest read gets it. A read whose
        task was cancelled has a cancelled future until its task runs to forget it: skipped."""
        while self.waiting:
            client = min(self.waiting, key=self.used)
            queue = self.waiting[client]
            granted = queue.popleft()
            self.waiting_count -= 1
            if not queue:
                del self.waiting[client]
            if not granted.done():
                granted.set_result(None)
                return
        self.free += 1

    def _record(self, client: str, seconds: float) -> None:
        now = self.clock()
        self.usage[client] = _Usage(self.used(client) + seconds, now)
        if len(self.usage) > REMEMBERED_CLIENTS:
            self.usage = {
                name: usage
                for name, usage in self.usage.items()
                if self.used(name) >= FORGET_BELOW_SECONDS
            }


def _loop_time(deadline: float, clock: Callable[[], float]) -> float:
    """`deadline` of `clock` on the running loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - clock())


@dataclass(frozen=True, slots=True)
class _RequestTurns:
    turns: DatabaseTurns
    client: str
    deadline: float | None


_current: ContextVar[_RequestTurns | None] = ContextVar("database_turns", default=None)


@contextmanager
def taking_turns(turns: DatabaseTurns, client: str, deadline: float | None) -> Iterator[None]:
    """Within the block (a request), `database_turn` takes a turn of `turns` for `client`."""
    token = _current.set(_RequestTurns(turns, client, deadline))
    try:
        yield
    finally:
        _current.reset(token)


@asynccontextmanager
async def database_turn() -> AsyncIterator[None]:
    """One turn at the database for the block, when a request takes turns (else at once)."""
    current = _current.get()
    if current is None:
        yield
        return
    async with current.turns.turn(current.client, current.deadline):
        yield
