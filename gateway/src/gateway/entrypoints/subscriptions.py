"""What every client subscription shares, whichever way it came (WebSocket, SSE, REST):
the bounds (connections, subscriptions per connection and per client), a bounded queue
between the subgraph's events and the client, token expiry, keep-alive timing, metrics and
graceful shutdown.

A subscription runs as a producer task (events from the subgraph, each run through the rest
of the plan: Gateway.subscribe) filling a bounded queue, and the client's writer draining
it. A client that reads more slowly than events come lets the queue fill; it is then cut
off (`SlowConsumer`) instead of being buffered without bound or slowing the subgraph."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from graphql import FieldNode
from prometheus_client import Counter, Gauge

from gateway.federation.pipeline import Admitted, Gateway, Prepared, RequestError
from gateway.single_reader_queue import END, SingleReaderQueue
from platform_kit.auth import bearer_token
from platform_kit.request_context import current_authorization

log = logging.getLogger(__name__)

__all__ = [
    "RECONNECT_CODE",
    "SLOW_CONSUMER_CODE",
    "Answer",
    "SlowConsumer",
    "SubscriptionLimits",
    "SubscriptionRun",
    "Subscriptions",
    "TooManySubscriptions",
    "fanout_of",
    "topic_key",
]

# WebSocket close codes. 1012 (Service Restart, RFC 6455 registry): the gateway is going
# away, reconnect (graphql-ws and Apollo Client retry it). 4008: this client read too slowly
# and was cut off (a code of the application range: retried by the same clients).
RECONNECT_CODE = 1012
SLOW_CONSUMER_CODE = 4008

OPEN_SUBSCRIPTIONS = Gauge(
    "gateway_subscriptions_open",
    "Client subscriptions open, by transport",
    ["transport"],
    multiprocess_mode="livesum",
)
SUBSCRIPTION_CONNECTIONS = Gauge(
    "gateway_subscription_connections_open",
    "WebSocket connections and SSE streams open",
    multiprocess_mode="livesum",
)
EVENTS_DELIVERED = Counter(
    "gateway_subscription_events_total", "Subscription events sent to clients", ["transport"]
)
SUBSCRIPTIONS_ENDED = Counter(
    "gateway_subscriptions_ended_total", "Client subscriptions ended, by reason", ["reason"]
)


@dataclass(frozen=True)
class SubscriptionLimits:
    max_connections: int = 10_000  # WebSocket connections and SSE streams, per process
    max_per_connection: int = 100  # subscriptions on one WebSocket
    max_per_client: int = 100  # subscriptions of one client (token sub, else address)
    keep_alive_seconds: float = 15.0  # a ping (WebSocket) or comment (SSE) when idle
    queue_size: int = 64  # answers waiting for one subscriber before it is cut off
    init_timeout_seconds: float = 10.0  # WebSocket: connection_init must come by then
    # root Subscription fields whose events are the same for anyone (declared by the
    # operator): one anonymous stream for all their subscribers (topic_key)
    shared_fields: frozenset[str] = frozenset()


class TooManySubscriptions(Exception):
    """Over a bound: the request is refused, nothing is opened."""


class SlowConsumer(Exception):
    """The subscriber's queue filled: it was cut off."""


@dataclass
class Subscriptions:
    """The process's open connections and subscriptions (bounds, metrics, shutdown)."""

    limits: SubscriptionLimits = field(default_factory=SubscriptionLimits)
    connections: int = 0
    per_client: dict[str, int] = field(default_factory=dict)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    # told at shutdown (each WebSocket connection's: a callback, not a task waiting)
    _on_shutdown: set[Callable[[], None]] = field(default_factory=set)
    # told every keep_alive_seconds (each WebSocket connection's ping): one timer for the
    # process, not one a connection, ticking every second through one of
    # ceil(keep_alive_seconds) groups in turn, so that the pings of thousands of
    # connections are spread over the period, not sent (and answered) in one burst that
    # would hold up their events
    _keep_alive: list[set[Callable[[], None]]] = field(default_factory=list)
    _keep_alive_count: int = 0
    _keep_alive_tick: int = 0
    _keep_alive_timer: asyncio.TimerHandle | None = None

    def keep_alive(self, callback: Callable[[], None]) -> None:
        if not self._keep_alive:
            groups = max(1, math.ceil(self.limits.keep_alive_seconds))
            self._keep_alive = [set() for _ in range(groups)]
        # the next group round, not hashed: joins and leaves keep the groups even enough
        self._keep_alive[self._keep_alive_count % len(self._keep_alive)].add(callback)
        self._keep_alive_count += 1
        if self._keep_alive_timer is None:
            self._schedule_keep_alive()

    def no_keep_alive(self, callback: Callable[[], None]) -> None:
        for group in self._keep_alive:
            if callback in group:
                group.discard(callback)
                return

    def _schedule_keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        tick = self.limits.keep_alive_seconds / len(self._keep_alive)
        self._keep_alive_timer = loop.call_later(tick, self._beat)

    def _beat(self) -> None:
        self._keep_alive_timer = None
        self._keep_alive_tick = (self._keep_alive_tick + 1) % len(self._keep_alive)
        for callback in tuple(self._keep_alive[self._keep_alive_tick]):
            callback()
        if any(self._keep_alive):
            self._schedule_keep_alive()

    def on_shutdown(self, callback: Callable[[], None]) -> None:
        if self.closing.is_set():
            callback()
        else:
            self._on_shutdown.add(callback)

    def no_shutdown(self, callback: Callable[[], None]) -> None:
        self._on_shutdown.discard(callback)

    def connection(self) -> _ConnectionHeld:
        """A connection held for the `with` block (refused over the bound)."""
        return _ConnectionHeld(self)

    def subscription(self, client: str, transport: str) -> _SubscriptionHeld:
        """A subscription of `client` held for the `with` block (refused over the bound)."""
        return _SubscriptionHeld(self, client, transport)

    def shut_down(self) -> None:
        """Ask every subscription to end with a code that says: reconnect."""
        self.closing.set()
        if self._keep_alive_timer is not None:
            self._keep_alive_timer.cancel()
            self._keep_alive_timer = None
        for callback in tuple(self._on_shutdown):
            callback()
        self._on_shutdown.clear()

    @contextmanager
    def shutdown_on_signals(self) -> Iterator[None]:
        """uvicorn waits, on SIGTERM, for open responses to finish before the lifespan ends,
        and a subscription never finishes: the signal is seen here first, ends every
        subscription (clients told to reconnect), then goes on to uvicorn's handler."""
        loop = asyncio.get_running_loop()
        previous: dict[int, Any] = {}

        def chained(number: int, frame: Any) -> None:
            loop.call_soon_threadsafe(self.shut_down)
            handler = previous.get(number)
            if callable(handler):
                handler(number, frame)

        for number in (signal.SIGTERM, signal.SIGINT):
            try:
                previous[number] = signal.getsignal(number)
                signal.signal(number, chained)
            except ValueError:  # not the main thread (an in-process test server)
                previous.pop(number, None)
        try:
            yield
        finally:
            for restored, handler in previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(restored, handler)


class _ConnectionHeld:
    # a class, not a @contextmanager generator: one is held for each connection's life,
    # and a generator's frame is three times its size
    __slots__ = ("_subscriptions",)

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions

    def __enter__(self) -> None:
        held = self._subscriptions
        if held.closing.is_set():
            raise TooManySubscriptions("the gateway is shutting down: reconnect")
        if held.connections >= held.limits.max_connections:
            raise TooManySubscriptions(
                f"at most {held.limits.max_connections} subscription connections at once"
            )
        held.connections += 1
        SUBSCRIPTION_CONNECTIONS.inc()

    def __exit__(self, *_: object) -> None:
        self._subscriptions.connections -= 1
        SUBSCRIPTION_CONNECTIONS.dec()


class _SubscriptionHeld:
    __slots__ = ("_client", "_subscriptions", "_transport")

    def __init__(self, subscriptions: Subscriptions, client: str, transport: str) -> None:
        self._subscriptions = subscriptions
        self._client = client
        self._transport = transport

    def __enter__(self) -> None:
        per_client, limits = self._subscriptions.per_client, self._subscriptions.limits
        held = per_client.get(self._client, 0)
        if held >= limits.max_per_client:
            raise TooManySubscriptions(
                f"at most {limits.max_per_client} open subscriptions per client"
            )
        per_client[self._client] = held + 1
        OPEN_SUBSCRIPTIONS.labels(self._transport).inc()

    def __exit__(self, *_: object) -> None:
        per_client = self._subscriptions.per_client
        left = per_client[self._client] - 1
        if left:
            per_client[self._client] = left
        else:
            del per_client[self._client]
        OPEN_SUBSCRIPTIONS.labels(self._transport).dec()


class Answer:
    """One answer of a topic, the same object for every subscriber: its result, and the
    result as JSON, encoded once on first use (then the same bytes for every WebSocket
    that sends it, instead of an encoding per subscriber)."""

    __slots__ = ("_json", "result")

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self._json: bytes | None = None

    @property
    def json(self) -> bytes:
        encoded = self._json
        if encoded is None:
            encoded = self._json = orjson.dumps(self.result)
        return encoded


Deliver = Callable[[Answer], bool]


class _Topic:
    """One stream of answers shared by every client subscription with the same key: the
    producer task runs the subscription once (one upstream stream, the rest of the plan once
    per event) and offers each answer to every subscriber's own bounded queue."""

    __slots__ = ("ended", "key", "runs", "task")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.runs: set[SubscriptionRun] = set()
        self.ended = False
        self.task: asyncio.Task[None] | None = None


class Fanout:
    """The open topics of one Gateway (one supergraph): a reload builds a new Gateway, whose
    subscriptions start new topics, while the open ones keep running on the gateway they
    started on."""

    def __init__(self) -> None:
        self.topics: dict[tuple[Any, ...], _Topic] = {}

    def join(
        self,
        run: SubscriptionRun,
        key: tuple[Any, ...],
        gateway: Gateway,
        prepared: Prepared,
        admitted: Admitted,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        upstream_authorization: str | None,
    ) -> _Topic:
        topic = self.topics.get(key)
        if topic is None or topic.ended:
            topic = self.topics[key] = _Topic(key)
            topic.task = asyncio.create_task(
                self._produce(
                    topic,
                    gateway,
                    prepared,
                    admitted,
                    variables,
                    operation_name,
                    upstream_authorization,
                )
            )
        topic.runs.add(run)
        return topic

    def leave(self, run: SubscriptionRun, topic: _Topic) -> asyncio.Task[None] | None:
        """The task to cancel when `run` was the topic's last subscriber."""
        topic.runs.discard(run)
        if topic.runs or topic.ended:
            return None
        self._forget(topic)
        return topic.task

    def _forget(self, topic: _Topic) -> None:
        topic.ended = True
        if self.topics.get(topic.key) is topic:
            del self.topics[topic.key]

    async def _produce(
        self,
        topic: _Topic,
        gateway: Gateway,
        prepared: Prepared,
        admitted: Admitted,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        authorization: str | None,
    ) -> None:
        # the identity the upstream stream and every entity fetch of each event are made
        # with (this task's own context)
        current_authorization.set(authorization)
        last: dict[str, Any] | None = None
        try:
            async for result in gateway.subscribe(prepared, admitted, variables, operation_name):
                answer = Answer(result)
                for run in tuple(topic.runs):
                    run.offer(answer)
                # the answer (its JSON is a 4 KB buffer, as orjson allocates) is not held
                # by the topic while it waits for the next event: it stays only where it
                # is queued
                del result, answer
        except RequestError as error:
            last = {"data": None, "errors": error.errors}
        except Exception:
            # never a silent end: logged, and every subscriber told
            log.exception("subscription topic failed")
            last = _error("the subscription failed on the gateway", "INTERNAL_SERVER_ERROR")
        finally:
            self._forget(topic)
            for run in tuple(topic.runs):
                run.finish(last)
            topic.runs.clear()


_FANOUTS: weakref.WeakKeyDictionary[Gateway, Fanout] = weakref.WeakKeyDictionary()


def fanout_of(gateway: Gateway) -> Fanout:
    fanout = _FANOUTS.get(gateway)
    if fanout is None:
        fanout = _FANOUTS[gateway] = Fanout()
    return fanout


def topic_key(
    prepared: Prepared,
    admitted: Admitted,
    authorization: str | None,
    shared_fields: frozenset[str],
) -> tuple[tuple[Any, ...], str | None]:
    """Which client subscriptions may share one stream, and the identity it is opened with.

    The same operation with the same variables, seen with the same access (the plan
    depends on it), and, unless its root field is in `shared_fields`, made with the same
    Authorization: a subgraph decides what a caller sees from its identity (a customer
    only their own orders), so a stream is only ever shared by callers presenting the very
    same credentials. A root field in `shared_fields` is declared by the operator to send
    the same events to anyone (a public catalog): its stream is opened anonymously, once
    for all callers."""
    # as str: orjson's bytes keep their 4 KB buffer for as long as the key lives
    values = orjson.dumps(admitted.values, option=orjson.OPT_SORT_KEYS, default=str).decode()
    audience = None if _root_field(prepared) in shared_fields else authorization
    return (prepared.key, values, admitted.access, audience), audience


def _root_field(prepared: Prepared) -> str | None:
    selections = prepared.operation.selection_set.selections
    if len(selections) == 1 and isinstance(selections[0], FieldNode):
        return selections[0].name.value
    return None


class SubscriptionRun(SingleReaderQueue[Answer]):
    """One client subscription: a bounded queue fed by its topic (shared with every client
    subscription of the same key). Iterate it for the answers' results (`next_answer` for
    the `Answer`s themselves); it ends after the stream's last answer, or with SlowConsumer.

    `deliver`, when given, is tried first for each answer, from the topic's task: a
    transport that can write the answer at once does so and answers True (no task is
    woken, nothing is queued). It is tried only while nothing of this subscription waits
    in the queue or is being sent by its reader, so answers keep their order; an answer it
    refuses (False: the connection's buffer is full, or it is closing) is queued, bounded
    as ever, for the reader."""

    __slots__ = (
        "_deliver",
        "_expiry",
        "_fanout",
        "_on_queued",
        "_taken",
        "_topic",
        "ended",
        "queue_size",
        "slow",
    )

    def __init__(
        self,
        gateway: Gateway,
        prepared: Prepared,
        admitted: Admitted,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        authorization: str | None,
        queue_size: int,
        shared_fields: frozenset[str] = frozenset(),
        deliver: Deliver | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        # a SingleReaderQueue, not an asyncio.Queue (four deques and an event): one is held
        # per open subscription, and a subscriber whose answers are delivered at once
        # (`deliver`) may never queue one. Bounded by offer(): queue_size answers, a last
        # one, the end.
        super().__init__()
        self._deliver = deliver
        # told when an answer (or the end) is queued and no reader waits for it: a
        # transport without a task waiting on each subscription starts one then
        self._on_queued = on_queued
        # the reader took an answer and may still be sending it: a direct delivery now
        # could overtake it
        self._taken = False
        self.queue_size = queue_size
        self.slow = False
        self.ended = False
        expires_at = _expiry(authorization)
        self._expiry = None if expires_at is None else _EXPIRIES.add(self, expires_at)
        key, upstream = topic_key(prepared, admitted, authorization, shared_fields)
        self._fanout = fanout_of(gateway)
        self._topic = self._fanout.join(
            self, key, gateway, prepared, admitted, variables, operation_name, upstream
        )

    def offer(self, answer: Answer) -> None:
        if self.ended:
            return
        deliver = self._deliver
        if deliver is not None and not self._items and not self._taken and deliver(answer):
            return
        if self.pending >= self.queue_size:
            self.slow = True
            self._end("slow_consumer")
            return
        self._queued(self.put(answer))

    def _queued(self, reader_told: bool) -> None:
        if not reader_told and self._on_queued is not None:
            self._on_queued()

    def finish(self, last: dict[str, Any] | None) -> None:
        """The topic ended: with an error answer (`last`), or completed."""
        if self.ended:
            return
        if last is not None:
            self._queued(self.put(Answer(last)))
        self._end("error" if last is not None else "completed")

    def _expire(self) -> None:
        if not self.ended:
            expired = _error("the token expired: subscribe with a new one", "UNAUTHENTICATED")
            self._queued(self.put(Answer(expired)))
            self._end("token_expired")

    def _end(self, reason: str) -> None:
        self.ended = True
        SUBSCRIPTIONS_ENDED.labels(reason).inc()
        self._queued(self.put_end())
        if self._expiry is not None:
            _EXPIRIES.discard(self, self._expiry)
        self._leave()

    def _leave(self) -> asyncio.Task[None] | None:
        task = self._fanout.leave(self, self._topic)
        if task is not None:
            task.cancel()
        return task

    def __aiter__(self) -> SubscriptionRun:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return (await self.next_answer()).result

    async def next_answer(self) -> Answer:
        """The next answer; StopAsyncIteration after the last, SlowConsumer if cut off."""
        self._taken = False  # the reader is back: what it took before is sent
        if self.slow:
            raise SlowConsumer()
        item = await self.get()
        if item is END:
            if self.slow:
                raise SlowConsumer()
            raise StopAsyncIteration
        self._taken = True
        return item

    def sent(self) -> None:
        """The reader sent what it took and waits for nothing: answers may be delivered
        at once again (`deliver`)."""
        self._taken = False

    def close(self) -> None:
        """Leaves the topic, now (its producer, when this was its last subscriber, is
        cancelled and not waited for)."""
        if self._expiry is not None:
            _EXPIRIES.discard(self, self._expiry)
        if not self.ended:
            self.ended = True
            SUBSCRIPTIONS_ENDED.labels("cancelled").inc()
        self._leave()

    async def cancel(self) -> None:
        if self._expiry is not None:
            _EXPIRIES.discard(self, self._expiry)
        if not self.ended:
            self.ended = True
            SUBSCRIPTIONS_ENDED.labels("cancelled").inc()
        task = self._leave()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Expiries:
    """When open subscriptions' tokens expire, by the second, on one timer for the process
    (a TimerHandle a subscription is 550 bytes held for its life): each ends at most a
    second after its token did."""

    def __init__(self) -> None:
        self._by_second: dict[int, set[SubscriptionRun]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, run: SubscriptionRun, expires_at: float) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another event loop (tests run several): start over
            self._by_second.clear()
            self._timer = self._timer_at = None
            self._loop = loop
        second = math.ceil(expires_at)
        self._by_second.setdefault(second, set()).add(run)
        if self._timer_at is None or second < self._timer_at:
            self._schedule(second)
        return second

    def discard(self, run: SubscriptionRun, second: int) -> None:
        group = self._by_second.get(second)
        if group is not None:
            group.discard(run)
            if not group:
                del self._by_second[second]

    def _schedule(self, second: int) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = second
        self._timer = self._loop.call_later(max(0.0, second - time.time()), self._tick)

    def _tick(self) -> None:
        self._timer = self._timer_at = None
        now = time.time()
        for second in sorted(second for second in self._by_second if second <= now):
            for run in tuple(self._by_second.pop(second, ())):
                run._expire()
        if self._by_second:
            self._schedule(min(self._by_second))


_EXPIRIES = _Expiries()


def _expiry(authorization: str | None) -> float | None:
    """When the (already verified) token expires, in seconds since the epoch."""
    try:
        token = bearer_token(authorization)
    except Exception:
        return None
    if token is None:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    expires = claims.get("exp")
    return float(expires) if isinstance(expires, int | float) else None


def _error(message: str, code: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


def refused(message: str, code: str = "RATE_LIMITED") -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code}}]
