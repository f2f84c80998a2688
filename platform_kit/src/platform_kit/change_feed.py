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

A subscriber may also start from a position it was given (`resume_after`: the resume token
of the last change it received, in another process's life): it is first fed the changes
since then from a change stream of its own, then handed over to the shared one without a
change lost or repeated. Each change a subscriber takes leaves its
position in the operation's `Position` (platform_kit.stream_positions), which the transport
sends beside the event: a consumer that loses this process resumes from there (README:
"Resuming a subscription").

Needs the kit's `mongo` extra (PyMongo): only the subgraphs install it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from platform_kit.errors import DomainError
from platform_kit.stream_positions import POSITIONS, Position

__all__ = [
    "FEED_EVENTS",
    "FEED_SUBSCRIBERS",
    "BadPosition",
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
CATCH_UP_AWAIT_MS = 100  # the same for a catch-up, which only waits for the present


def _position_of(change: Mapping[str, Any]) -> str:
    """A change's position: its resume token's `_data` (hex, ordered like the changes)."""
    token = change.get("_id")
    data = token.get("_data") if isinstance(token, Mapping) else None
    return data if isinstance(data, str) else ""


class FeedUnavailable(DomainError):
    """The change stream failed and could not be resumed in time."""


class BadPosition(DomainError):
    """A position to resume from that is not one (a resume token's hex string)."""


# a resume token as the server gives it ({"_data": hex}); nothing else reaches the server
_TOKEN = re.compile(r"[0-9A-Fa-f]{2,1024}")


class SlowSubscriber(DomainError):
    """The subscriber's queue was full: it was cut off rather than buffered without bound."""


@dataclass(frozen=True)
class FeedLimits:
    queue_size: int = 64  # changes waiting for one subscriber
    max_subscribers: int = 10_000  # per process
    outage_seconds: float = 5.0  # resuming tried this long before subscribers are ended
    retry_seconds: float = 0.5
    # a subscriber resuming from a position: the live changes that may wait for it while
    # it catches up (then it is cut off as slow), and the catch-up streams open at once
    catch_up_queue_size: int = 1024
    max_catch_ups: int = 16


class TooManySubscribers(DomainError):
    """The process has as many subscribers as it serves."""


class Subscriber(Generic[T]):
    """One subscriber's bounded queue of (position, change); iterate it for the changes.
    Each change taken leaves its position in the operation's `Position`, if there is one.

    A subscriber resuming from a position is first fed by its catch-up (`_catch_up`: the
    changes since that position, from a change stream of its own, up to the first change
    the shared stream queued for it); changes the catch-up already gave are skipped when the
    shared stream brings them too (by position: equal for the same change in any stream;
    positions are not ordered as strings, so only equality is relied on)."""

    __slots__ = ("_catch_up", "_ended", "_position", "_queue", "_seen")

    def __init__(self, size: int, position: Position | None = None) -> None:
        self._queue: asyncio.Queue[tuple[str, T]] = asyncio.Queue(size)
        self._ended: BaseException | None = None
        self._position = position
        self._catch_up: AsyncGenerator[tuple[str, T], None] | None = None
        # positions the catch-up gave (the shared stream may bring them again, first): the
        # latest ones only, as many as the queue holds (more would have cut it off as slow)
        self._seen: dict[str, None] | None = None

    def offer(self, position: str, item: T) -> bool:
        """False: the queue is full and the subscriber is ended as slow."""
        if self._ended is not None:
            return False
        try:
            self._queue.put_nowait((position, item))
        except asyncio.QueueFull:
            self.end(SlowSubscriber("too many changes waiting: the subscriber was too slow"))
            return False
        return True

    def first_queued(self) -> str | None:
        """The position of the first change queued by the shared stream, if any."""
        queued = self._queue._queue  # type: ignore[attr-defined]
        for position, item in queued:
            if item is not _END:
                return position  # type: ignore[no-any-return]
        return None

    def end(self, reason: BaseException) -> None:
        if self._ended is None:
            self._ended = reason
            # wake a reader waiting on an empty queue; a full one holds no waiter
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait((_END_POSITION, _END))

    def __aiter__(self) -> Subscriber[T]:
        return self

    async def __anext__(self) -> T:
        if isinstance(self._ended, SlowSubscriber):
            raise self._ended  # cut off at once: what waits is dropped with it
        if self._catch_up is not None:
            try:
                position, item = await anext(self._catch_up)
            except StopAsyncIteration:
                self._catch_up = None
            else:
                seen = self._seen
                if seen is None:
                    seen = self._seen = {}
                seen[position] = None
                if len(seen) > self._queue.maxsize:
                    del seen[next(iter(seen))]
                return self._took(position, item)
        while True:
            if self._ended is not None and self._queue.empty():
                raise self._ended  # changes read before a failure were delivered first
            position, item = await self._queue.get()
            if item is _END:
                assert self._ended is not None
                raise self._ended
            if self._seen is not None:
                if position in self._seen:
                    continue  # the catch-up gave it already
                # the shared stream brings changes in order: the ones the catch-up also
                # gave come first, so none of what follows was given
                self._seen = None
            return self._took(position, item)

    def _took(self, position: str, item: T) -> T:
        if self._position is not None:
            self._position.last = position
        return item


_END: Any = object()
_END_POSITION = ""  # beside _END: no change's position


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
        # catch-ups (subscribers resuming from a position) reading at once: a restart of
        # this process brings every consumer's resubscription together
        self._catch_ups = asyncio.Semaphore(self.limits.max_catch_ups)

    @property
    def subscribers(self) -> int:
        return self._count

    @asynccontextmanager
    async def subscribe(
        self, key: Hashable | None = None, resume_after: str | None = None
    ) -> AsyncIterator[Subscriber[T]]:
        """A subscriber for the block; entered once the stream is open, so every change
        made after it is entered reaches it (with `key`, on a feed that has a `key`: only
        the changes of that key). `resume_after` (by default the operation's
        `Position.resume_after`): the changes since that position come first, none lost
        or repeated; one the server no longer has ends the subscriber with
        FeedUnavailable, never with a silent gap."""
        position = POSITIONS.get()
        if resume_after is None and position is not None:
            resume_after = position.resume_after
        if resume_after is not None and not _TOKEN.fullmatch(resume_after):
            raise BadPosition("resumeToken: not a position this service gave")
        if self._count >= self.limits.max_subscribers:
            raise TooManySubscribers(f"at most {self.limits.max_subscribers} subscribers")
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name=f"change feed {self.name}")
        try:
            await asyncio.wait_for(self._open.wait(), self.limits.outage_seconds)
        except TimeoutError:
            raise FeedUnavailable(f"the {self.name} change stream is unavailable") from None
        size = self.limits.queue_size if resume_after is None else self.limits.catch_up_queue_size
        subscriber: Subscriber[T] = Subscriber(size, position)
        group = (
            self._subscribers
            if key is None or self.key is None
            else self._keyed.setdefault(key, set())
        )
        # registered before the catch-up starts: every change from now on is queued, and
        # the catch-up stops at the first one queued
        group.add(subscriber)
        self._count += 1
        FEED_SUBSCRIBERS.labels(self.name).inc()
        catch_up = None
        if resume_after is not None:
            catch_up = self._catch_up(subscriber, key, resume_after)
            subscriber._catch_up = catch_up
        try:
            yield subscriber
        finally:
            if catch_up is not None:
                await catch_up.aclose()
            group.discard(subscriber)
            if not group and key is not None and self._keyed.get(key) is group:
                del self._keyed[key]
            self._count -= 1
            FEED_SUBSCRIBERS.labels(self.name).dec()

    async def _catch_up(
        self, subscriber: Subscriber[T], key: Hashable | None, resume_after: str
    ) -> AsyncGenerator[tuple[str, T], None]:
        """The changes after `resume_after` up to the first one the shared stream queued
        for `subscriber` (or, none queued, up to the present), from a stream of its own."""
        options: dict[str, Any] = {
            "full_document": "updateLookup",
            "max_await_time_ms": CATCH_UP_AWAIT_MS,
            "resume_after": {"_data": resume_after},
        }
        try:
            async with self._catch_ups, await self.collection.watch(**options) as stream:
                while True:
                    change = await stream.try_next()
                    first = subscriber.first_queued()
                    if change is None:
                        if first is None:
                            return  # the present reached: the shared stream goes on
                        continue
                    position = _position_of(change)
                    if first is not None and position == first:
                        return  # the shared stream has it and what follows
                    item = self._decoded(change)
                    if item is None:
                        continue
                    if key is not None and self.key is not None and self.key(item) != key:
                        continue
                    yield position, item
        except PyMongoError as error:
            raise FeedUnavailable(
                f"the {self.name} changes since the position given cannot be read: {error}"
            ) from None

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
                    del change  # not held while waiting for the next

    def _all(self) -> list[Subscriber[T]]:
        every = list(self._subscribers)
        for group in self._keyed.values():
            every += group
        return every

    def _decoded(self, change: Mapping[str, Any]) -> T | None:
        try:
            return self.decode(change)
        except Exception:  # a change we cannot read must not end the stream for everyone
            log.exception("undecodable change skipped", extra={"feed": self.name})
            return None

    def _publish(self, change: Mapping[str, Any]) -> None:
        if not self._count:
            return
        item = self._decoded(change)
        if item is None:
            return
        position = _position_of(change)
        targets = list(self._subscribers)
        if self._keyed and self.key is not None:
            targets += self._keyed.get(self.key(item), ())
        delivered = dropped = 0
        for subscriber in targets:
            if subscriber.offer(position, item):
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
