"""A collection's changes, read once per process and fanned out to its subscribers.

One reader per process watches the collection's MongoDB change stream (every replica of a
service runs its own, so every replica sees every change: nothing is broadcast in process
in place of the database). Each change is decoded once (an adapter's `decode`, from the
event to a domain object), then offered to every subscriber's own bounded queue. A
subscriber that lets its queue fill is cut off (`SlowSubscriber`) rather than buffered
without bound, or allowed to hold the others back.

The reader keeps the stream's resume token: a dropped connection or a passing outage
resumes after the last change read, so subscribers lose nothing. If the stream cannot be
resumed within `outage_seconds`, its subscribers end with `FeedUnavailable` (never a
silent stall), and the reader keeps trying for the next ones.

Needs the kit's `mongo` extra (PyMongo): only the subgraphs install it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from platform_kit.errors import DomainError

__all__ = [
    "FEED_EVENTS",
    "FEED_SUBSCRIBERS",
    "ChangeFeed",
    "Changes",
    "FeedLimits",
    "FeedUnavailable",
    "SlowSubscriber",
    "Subscriber",
    "TooManySubscribers",
]

log = logging.getLogger("change_feed")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Document = dict[str, Any]

FEED_SUBSCRIBERS = Gauge(
    "change_feed_subscribers", "Subscribers of a change feed", ["feed"], multiprocess_mode="sum"
)
FEED_EVENTS = Counter(
    "change_feed_events_total", "Changes offered to subscribers, by outcome", ["feed", "outcome"]
)


AWAIT_MS = 1000  # how long the server holds a getMore that finds no change


class FeedUnavailable(DomainError):
    """The change stream failed and could not be resumed in time."""


class SlowSubscriber(DomainError):
    """The subscriber's queue was full: it was cut off rather than buffered without bound."""


@dataclass(frozen=True)
class FeedLimits:
    queue_size: int = 64  # changes waiting for one subscriber
    max_subscribers: int = 10_000  # per process
    outage_seconds: float = 5.0  # resuming tried this long before subscribers are ended
    retry_seconds: float = 0.5


class TooManySubscribers(DomainError):
    """The process has as many subscribers as it serves."""


class Subscriber(Generic[T]):
    """One subscriber's bounded queue; iterate it for the changes."""

    __slots__ = ("_ended", "_queue")

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue(size)
        self._ended: BaseException | None = None

    def offer(self, item: T) -> bool:
        """False: the queue is full and the subscriber is ended as slow."""
        if self._ended is not None:
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.end(SlowSubscriber("too many changes waiting: the subscriber was too slow"))
            return False
        return True

    def end(self, reason: BaseException) -> None:
        if self._ended is None:
            self._ended = reason
            # wake a reader waiting on an empty queue; a full one holds no waiter
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)

    def __aiter__(self) -> Subscriber[T]:
        return self

    async def __anext__(self) -> T:
        if isinstance(self._ended, SlowSubscriber):
            raise self._ended  # cut off at once: what waits is dropped with it
        if self._ended is not None and self._queue.empty():
            raise self._ended  # changes read before a failure were delivered first
        item = await self._queue.get()
        if item is _END:
            assert self._ended is not None
            raise self._ended
        return item


_END: Any = object()


class ChangeFeed(Generic[T]):
    """The changes of one collection as domain objects (`decode`: None skips a change)."""

    def __init__(
        self,
        name: str,
        collection: AsyncCollection[Document],
        decode: Callable[[Mapping[str, Any]], T | None],
        limits: FeedLimits | None = None,
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        self.name = name
        self.collection = collection
        self.decode = decode
        self.limits = limits or FeedLimits()
        # `key`: what a subscriber may narrow to (an item's id): a change is offered to the
        # subscribers of its key and to those of every change, not to all (a thousand
        # subscribers of one product each are not offered every other product's changes)
        self.key = key
        self._subscribers: set[Subscriber[T]] = set()
        self._keyed: dict[Hashable, set[Subscriber[T]]] = {}
        self._count = 0
        self._reader: asyncio.Task[None] | None = None
        self._open = asyncio.Event()  # the stream is open: a change from now on is delivered
        self._resume_token: Mapping[str, Any] | None = None
        self._failure: BaseException | None = None

    @property
    def subscribers(self) -> int:
        return self._count

    @asynccontextmanager
    async def subscribe(self, key: Hashable | None = None) -> AsyncIterator[Subscriber[T]]:
        """A subscriber for the block; entered once the stream is open, so every change
        made after it is entered reaches it (with `key`, on a feed that has a `key`: only
        the changes of that key)."""
        if self._count >= self.limits.max_subscribers:
            raise TooManySubscribers(f"at most {self.limits.max_subscribers} subscribers")
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name=f"change feed {self.name}")
        try:
            await asyncio.wait_for(self._open.wait(), self.limits.outage_seconds)
        except TimeoutError:
            raise FeedUnavailable(f"the {self.name} change stream is unavailable") from None
        subscriber: Subscriber[T] = Subscriber(self.limits.queue_size)
        group = (
            self._subscribers
            if key is None or self.key is None
            else self._keyed.setdefault(key, set())
        )
        group.add(subscriber)
        self._count += 1
        FEED_SUBSCRIBERS.labels(self.name).inc()
        try:
            yield subscriber
        finally:
            group.discard(subscriber)
            if not group and key is not None and self._keyed.get(key) is group:
                del self._keyed[key]
            self._count -= 1
            FEED_SUBSCRIBERS.labels(self.name).dec()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for subscriber in self._all():
            subscriber.end(FeedUnavailable("the service is shutting down"))

    async def _read(self) -> None:
        failing_since: float | None = None
        while True:
            try:
                await self._stream()
            except PyMongoError as error:
                self._open.clear()
                now = time.monotonic()
                failing_since = failing_since or now
                log.warning(
                    "change stream interrupted; resuming",
                    extra={"feed": self.name, "error": str(error)},
                )
                if now - failing_since >= self.limits.outage_seconds:
                    self._fail_all(error)
                    failing_since = None
                    # a token the server has forgotten must not stop the next subscribers
                    self._resume_token = None
                await asyncio.sleep(self.limits.retry_seconds)

    async def _stream(self) -> None:
        options: dict[str, Any] = {
            "full_document": "updateLookup",
            "max_await_time_ms": AWAIT_MS,
        }
        if self._resume_token is not None:
            options["resume_after"] = self._resume_token
        async with await self.collection.watch(**options) as stream:
            self._open.set()
            while True:
                # one awaitData getMore at a time: each is its own operation under the
                # client's timeoutMS, where one `next` waiting for a change would time out
                # after it in a quiet hour
                change = await stream.try_next()
                self._resume_token = stream.resume_token
                if change is not None:
                    self._publish(change)

    def _all(self) -> list[Subscriber[T]]:
        every = list(self._subscribers)
        for group in self._keyed.values():
            every += group
        return every

    def _publish(self, change: Mapping[str, Any]) -> None:
        if not self._count:
            return
        try:
            item = self.decode(change)
        except Exception:  # a change we cannot read must not end the stream for everyone
            log.exception("undecodable change skipped", extra={"feed": self.name})
            return
        if item is None:
            return
        targets = list(self._subscribers)
        if self._keyed and self.key is not None:
            targets += self._keyed.get(self.key(item), ())
        delivered = dropped = 0
        for subscriber in targets:
            if subscriber.offer(item):
                delivered += 1
            else:
                dropped += 1
        if delivered:
            FEED_EVENTS.labels(self.name, "queued").inc(delivered)
        if dropped:
            FEED_EVENTS.labels(self.name, "slow_subscriber").inc(dropped)

    def _fail_all(self, error: BaseException) -> None:
        reason = FeedUnavailable(f"the {self.name} change stream failed: {error}")
        for subscriber in self._all():
            subscriber.end(reason)


class Changes(Protocol[T_co]):
    """What a use case needs of a feed (a port): a subscription to its changes."""

    def subscribe(
        self, key: Hashable | None = None
    ) -> AbstractAsyncContextManager[AsyncIterator[T_co]]: ...
