"""Identical work in flight is done once: the first caller of a key runs it, callers that
come with the same key before it ends wait for the same result.

Used twice by the gateway: for subgraph requests (outbound) and, when enabled, for whole
client operations (inbound). The key decides what may be shared; each user builds it from
everything that makes a result differ (the request bytes and the caller's identity).

A caller that leaves (cancelled: its client went away) never cancels what others wait for,
but work that nobody waits for any more is cancelled: work stops when nobody waits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["InflightDeduplicator"]

T = TypeVar("T")


class _Shared(Generic[T]):
    def __init__(self, task: asyncio.Future[T]) -> None:
        self.task = task
        self.waiting = 0


class InflightDeduplicator(Generic[T]):
    def __init__(self) -> None:
        self._inflight: dict[Hashable, _Shared[T]] = {}
        self.shared = 0  # callers that waited for another's result (for metrics and tests)

    def _finished(self, key: Hashable, entry: _Shared[T]) -> None:
        if self._inflight.get(key) is entry:
            del self._inflight[key]
        if not entry.task.cancelled():
            entry.task.exception()  # retrieved here, so an error no caller awaits is not logged

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        entry = self._inflight.get(key)
        if entry is None:
            # the work runs as its own task: a caller that is cancelled (its client went
            # away) stops waiting, but never cancels what other callers wait for
            entry = _Shared(asyncio.ensure_future(work()))
            self._inflight[key] = entry
            entry.task.add_done_callback(lambda _: self._finished(key, entry))
        else:
            self.shared += 1
        entry.waiting += 1
        try:
            return await asyncio.shield(entry.task)
        finally:
            entry.waiting -= 1
            if not entry.waiting and not entry.task.done():
                if self._inflight.get(key) is entry:  # no later caller may join it now
                    del self._inflight[key]
                entry.task.cancel()
