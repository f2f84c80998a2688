"""A queue with one reader, light enough to hold one per open connection, stream or
subscription by the thousand.

An asyncio.Queue is four deques and an event (3.5 KB) held for as long as it lives; most of
the gateway's queues are empty most of the time. This one is two slots: a deque made only
while items wait (an empty deque is 760 bytes), and a future made only while its reader
waits for an item. One reader: a second one waiting at the same time would take the first
one's future away.

The gateway's own queues build on it (uvicorn's receive queue of a WebSocket, an upstream
stream's events, a client subscription's answers), each adding its bounds and hooks in a
subclass that keeps `__slots__`, so that no instance grows a `__dict__`."""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from typing import Final, Generic, Literal, TypeVar

__all__ = ["END", "SingleReaderQueue"]

T = TypeVar("T")


class _End(enum.Enum):
    # an enum member, not a bare object(), so that `item is END` narrows the item's type
    END = "end"


END: Final = _End.END
"""What the reader gets once the writer has put the end (`put_end`), and again each time
it asks after that."""


class SingleReaderQueue(Generic[T]):
    """Items put in order, taken in that order by one reader (`get`), unbounded: a subclass
    that needs a bound checks `pending` before it puts."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T | Literal[_End.END]] | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def pending(self) -> int:
        """Items put and not taken yet (the end counts as one)."""
        items = self._items
        return len(items) if items is not None else 0

    def empty(self) -> bool:
        return not self._items

    def put(self, item: T) -> bool:
        """Queues `item`; wakes the reader if it waits. False when no reader waits: nobody
        was told, for a caller whose reader is started on demand. An item put after the
        end is never read."""
        return self._append(item)

    def put_end(self) -> bool:
        """Queues the end after what is queued (once: a second end is not queued); answers
        as `put` does."""
        items = self._items
        if items and items[-1] is END:
            return self._waiter is not None
        return self._append(END)

    def _append(self, item: T | Literal[_End.END]) -> bool:
        items = self._items
        if items is None:
            items = self._items = deque()
        items.append(item)
        waiter = self._waiter
        if waiter is None:
            return False
        if not waiter.done():  # done: already woken by an earlier item, not back yet
            waiter.set_result(None)
        return True

    async def get(self) -> T | Literal[_End.END]:
        """The next item, waiting for one; END once the end is reached (and then again:
        the end stays queued, so a reader that asks again is not left waiting)."""
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:  # cancelled too: the queue is left as it was, usable
                self._waiter = None
        items = self._items
        item = items[0]
        if item is END:
            return item
        items.popleft()
        if not items:
            self._items = None  # the empty deque is not held while nothing waits
        return item
