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
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from prometheus_client import Counter, Gauge

from gateway.federation.pipeline import Admitted, Gateway, Prepared, RequestError
from platform_kit.auth import bearer_token
from platform_kit.request_context import current_authorization

__all__ = [
    "RECONNECT_CODE",
    "SLOW_CONSUMER_CODE",
    "SlowConsumer",
    "SubscriptionLimits",
    "SubscriptionRun",
    "Subscriptions",
    "TooManySubscriptions",
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

    @contextmanager
    def connection(self) -> Iterator[None]:
        if self.closing.is_set():
            raise TooManySubscriptions("the gateway is shutting down: reconnect")
        if self.connections >= self.limits.max_connections:
            raise TooManySubscriptions(
                f"at most {self.limits.max_connections} subscription connections at once"
            )
        self.connections += 1
        SUBSCRIPTION_CONNECTIONS.inc()
        try:
            yield
        finally:
            self.connections -= 1
            SUBSCRIPTION_CONNECTIONS.dec()

    @contextmanager
    def subscription(self, client: str, transport: str) -> Iterator[None]:
        held = self.per_client.get(client, 0)
        if held >= self.limits.max_per_client:
            raise TooManySubscriptions(
                f"at most {self.limits.max_per_client} open subscriptions per client"
            )
        self.per_client[client] = held + 1
        OPEN_SUBSCRIPTIONS.labels(transport).inc()
        try:
            yield
        finally:
            left = self.per_client[client] - 1
            if left:
                self.per_client[client] = left
            else:
                del self.per_client[client]
            OPEN_SUBSCRIPTIONS.labels(transport).dec()

    def shut_down(self) -> None:
        """Ask every subscription to end with a code that says: reconnect."""
        self.closing.set()

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


_END = object()


class SubscriptionRun:
    """One client subscription: the producer task and its bounded queue. Iterate it for
    the answers; it ends after the stream's last answer, or with SlowConsumer."""

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
    ) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(queue_size + 1)  # + the end marker
        self.queue_size = queue_size
        self.slow = False
        self.expires_at = _expiry(authorization)
        self._task = asyncio.create_task(
            self._produce(gateway, prepared, admitted, variables, operation_name, authorization)
        )

    async def _produce(
        self,
        gateway: Gateway,
        prepared: Prepared,
        admitted: Admitted,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        authorization: str | None,
    ) -> None:
        # the caller's identity for the subgraph stream and every entity fetch of each event
        current_authorization.set(authorization)
        reason = "completed"
        try:
            remaining = None if self.expires_at is None else self.expires_at - time.time()
            async with asyncio.timeout(remaining):
                events = gateway.subscribe(prepared, admitted, variables, operation_name)
                async for answer in events:
                    if self.queue.qsize() >= self.queue_size:
                        self.slow = True
                        reason = "slow_consumer"
                        return
                    self.queue.put_nowait(answer)
        except TimeoutError:
            reason = "token_expired"
            self._offer(_error("the token expired: subscribe with a new one", "UNAUTHENTICATED"))
        except RequestError as error:
            reason = "error"
            self._offer({"data": None, "errors": error.errors})
        finally:
            SUBSCRIPTIONS_ENDED.labels(reason).inc()
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(_END)

    def _offer(self, answer: dict[str, Any]) -> None:
        if self.queue.qsize() < self.queue_size:
            self.queue.put_nowait(answer)

    def __aiter__(self) -> SubscriptionRun:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self.slow:
            raise SlowConsumer()
        item = await self.queue.get()
        if item is _END:
            if self.slow:
                raise SlowConsumer()
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def cancel(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


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
