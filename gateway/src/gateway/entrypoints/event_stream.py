"""Server-Sent Events for subscriptions (GraphQL over SSE, "distinct connections" mode):
`event: next` with `data:` a GraphQL result per answer, then `event: complete`. Idle
streams get a comment line every keep-alive period, so proxies and clients see it live.

Used by POST /graphql with `Accept: text/event-stream` and by the REST event routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.entrypoints.subscriptions import (
    EVENTS_DELIVERED,
    SlowConsumer,
    SubscriptionRun,
    Subscriptions,
    TooManySubscriptions,
)
from gateway.federation.pipeline import Admitted, Gateway, Prepared
from platform_kit.admission import RELEASE_SLOT
from platform_kit.middleware import principal_of
from platform_kit.problems import problem_response

__all__ = [
    "COMPLETE",
    "EVENT_STREAM_HEADERS",
    "EventStreamResponse",
    "accepts_event_stream",
    "next_frame",
    "stream_events",
]

EVENT_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx and its kin: pass each event on at once
]
COMPLETE = b"event: complete\ndata:\n\n"
KEEP_ALIVE = b":\n\n"
TRANSPORT = "sse"
SHUTDOWN = {
    "data": None,
    "errors": [
        {
            "message": "the gateway is restarting: subscribe again",
            "extensions": {"code": "SERVICE_UNAVAILABLE", "reconnect": True},
        }
    ],
}
SLOW = {
    "data": None,
    "errors": [
        {
            "message": "slow consumer: events were dropped; subscribe again",
            "extensions": {"code": "SERVICE_UNAVAILABLE", "reconnect": True},
        }
    ],
}


def accepts_event_stream(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept" and b"text/event-stream" in value:
            return True
    return False


def next_frame(answer: Any, event: str = "next") -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(answer) + b"\n\n"


Shape = Callable[[dict[str, Any]], tuple[str, Any]]


def as_graphql(answer: dict[str, Any]) -> tuple[str, Any]:
    return "next", answer


def _frame(shape: Shape, answer: dict[str, Any]) -> bytes:
    event, body = shape(answer)
    return next_frame(body, event)


async def stream_events(
    scope: Scope,
    send: Send,
    run: SubscriptionRun,
    subscriptions: Subscriptions,
    shape: Shape = as_graphql,
) -> None:
    """The response: headers now, then each answer of `run` (`shape`d: REST routes give
    their own JSON), keep-alive comments while idle, and `complete` at the end. The
    request's admission slot is given back once the stream is open."""
    release = scope.get("state", {}).get(RELEASE_SLOT)
    if callable(release):
        release()
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM_HEADERS})
    try:
        async for frame in _frames(run, subscriptions, shape):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
    except SlowConsumer:
        # the client may not be reading at all: what is said is said within a second
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_last(send, _frame(shape, SLOW)), 1.0)
        return
    finally:
        await run.cancel()
    await send({"type": "http.response.body", "body": COMPLETE, "more_body": False})


async def _last(send: Send, frame: bytes) -> None:
    await send({"type": "http.response.body", "body": frame + COMPLETE, "more_body": False})


async def _frames(
    run: SubscriptionRun, subscriptions: Subscriptions, shape: Shape
) -> AsyncIterator[bytes]:
    keep_alive = subscriptions.limits.keep_alive_seconds
    closing = asyncio.ensure_future(subscriptions.closing.wait())
    answer: asyncio.Future[dict[str, Any]] | None = None
    try:
        while True:
            answer = asyncio.ensure_future(anext(run))
            while True:
                done, _ = await asyncio.wait(
                    {answer, closing}, timeout=keep_alive, return_when=asyncio.FIRST_COMPLETED
                )
                if answer in done:
                    break
                if closing in done:
                    yield _frame(shape, SHUTDOWN)
                    return
                yield KEEP_ALIVE
            try:
                result = answer.result()
            except StopAsyncIteration:
                return
            yield _frame(shape, result)
            EVENTS_DELIVERED.labels(TRANSPORT).inc()
    finally:
        closing.cancel()
        if answer is not None:
            answer.cancel()
            if answer.done() and not answer.cancelled():
                answer.exception()  # retrieved: the stream ended with it


class EventStreamResponse(Response):
    """A REST route's answer: an admitted subscription streamed as events, each answer
    `shape`d into the route's own (event, JSON)."""

    def __init__(
        self,
        gateway: Gateway,
        prepared: Prepared,
        admitted: Admitted,
        variables: dict[str, Any],
        *,
        authorization: str | None,
        shape: Shape,
    ) -> None:
        super().__init__()
        self.gateway = gateway
        self.prepared = prepared
        self.admitted = admitted
        self.variables = variables
        self.authorization = authorization
        self.shape = shape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriptions: Subscriptions = scope["app"].state.subscriptions
        caller = scope["app"].state.client_identity.of(scope, principal_of(scope))
        try:
            with subscriptions.connection(), subscriptions.subscription(caller, TRANSPORT):
                run = SubscriptionRun(
                    self.gateway,
                    self.prepared,
                    self.admitted,
                    self.variables,
                    None,
                    authorization=self.authorization,
                    queue_size=subscriptions.limits.queue_size,
                    shared_fields=subscriptions.limits.shared_fields,
                )
                await stream_events(scope, send, run, subscriptions, self.shape)
        except TooManySubscriptions as over:
            response = problem_response(
                429, str(over), code="RATE_LIMITED", headers={"Retry-After": "1"}
            )
            await response(scope, receive, send)
