"""Identical work in flight is done once: the first caller of a key runs it, callers that
come with the same key before it ends wait for the same result.

Used twice by the gateway: for subgraph requests (outbound) and, when enabled, for whole
client operations (inbound). The key decides what may be shared; each user builds it from
everything that makes a result differ (the request bytes and the caller's identity)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["InflightDeduplicator"]

T = TypeVar("T")


class InflightDeduplicator(Generic[T]):
    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}
        self.shared = 0  # callers that waited for another's result (for metrics and tests)

    def _finished(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # retrieved here, so an error no caller awaits is not logged

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        task = self._inflight.get(key)
        if task is None:
            # the work runs as its own task: a caller that is cancelled (its client went
            # away) stops waiting, but never cancels what other callers wait for
            task = asyncio.ensure_future(work())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        else:
            self.shared += 1
        return await asyncio.shield(task)
