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
from starlette.types import Scope, Send

from gateway.entrypoints.subscriptions import (
    EVENTS_DELIVERED,
    SlowConsumer,
    SubscriptionRun,
    Subscriptions,
)
from platform_kit.admission import RELEASE_SLOT

__all__ = [
    "COMPLETE",
    "EVENT_STREAM_HEADERS",
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


def next_frame(answer: Any) -> bytes:
    return b"event: next\ndata: " + orjson.dumps(answer) + b"\n\n"


async def stream_events(
    scope: Scope,
    send: Send,
    run: SubscriptionRun,
    subscriptions: Subscriptions,
    shape: Callable[[dict[str, Any]], Any] = lambda answer: answer,
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
            await asyncio.wait_for(_last(send, next_frame(shape(SLOW))), 1.0)
        return
    finally:
        await run.cancel()
    await send({"type": "http.response.body", "body": COMPLETE, "more_body": False})


async def _last(send: Send, frame: bytes) -> None:
    await send({"type": "http.response.body", "body": frame + COMPLETE, "more_body": False})


async def _frames(
    run: SubscriptionRun, subscriptions: Subscriptions, shape: Callable[[dict[str, Any]], Any]
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
                    yield next_frame(shape(SHUTDOWN))
                    return
                yield KEEP_ALIVE
            try:
                result = answer.result()
            except StopAsyncIteration:
                return
            yield next_frame(shape(result))
            EVENTS_DELIVERED.labels(TRANSPORT).inc()
    finally:
        closing.cancel()
        if answer is not None:
            answer.cancel()
            if answer.done() and not answer.cancelled():
                answer.exception()  # retrieved: the stream ended with it
