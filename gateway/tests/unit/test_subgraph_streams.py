"""Upstream subscription streams on a real WebSocket server in this process (a minimal
graphql-transport-ws subgraph): the streams of one identity are multiplexed on one
connection, another identity gets a connection of its own, a stream that leaves is completed
at the subgraph while the connection stays, and a connection that breaks ends every stream
on it with SubgraphUnreachable (never silence)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType, web

from gateway.federation.subgraph_streams import PROTOCOL, STREAM_QUEUE, SubgraphStreams, _Stream
from gateway.federation.transport import SubgraphUnreachable
from gateway.single_reader_queue import END
from platform_kit.request_context import current_authorization


class Subgraph:
    """Acknowledges, records each connection's Authorization and operations, and sends a
    `next` to every open operation when told."""

    def __init__(self) -> None:
        self.connections: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(protocols=(PROTOCOL,))
        await socket.prepare(request)
        record: dict[str, Any] = {
            "authorization": request.headers.get("Authorization"),
            "open": set(),
            "completed": [],
        }
        self.connections.append(record)
        self.sockets.append(socket)
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                break
            body = orjson.loads(message.data)
            if body["type"] == "connection_init":
                await socket.send_str('{"type":"connection_ack"}')
            elif body["type"] == "subscribe":
                record["open"].add(body["id"])
            elif body["type"] == "complete":
                record["open"].discard(body["id"])
                record["completed"].append(body["id"])
        return socket

    async def publish(self, data: Any) -> None:
        for record, socket in zip(self.connections, self.sockets, strict=True):
            if socket.closed:
                continue
            for operation in sorted(record["open"]):
                message = {"id": operation, "type": "next", "payload": {"data": data}}
                await socket.send_str(orjson.dumps(message).decode())


@pytest.fixture
async def subgraph() -> AsyncIterator[tuple[Subgraph, str]]:
    served = Subgraph()
    app = web.Application()
    app.router.add_get("/graphql", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield served, f"http://127.0.0.1:{port}/graphql"
    await runner.cleanup()


def _open(streams: SubgraphStreams, url: str, token: str) -> tuple[Any, asyncio.Future[Any]]:
    """A stream made with `token`, and its first event awaited: the stream reads the
    identity when it starts, in the context of the task that starts it (made here)."""
    current_authorization.set(token)
    stream = streams.stream(url, "subscription { changed }", {})
    return stream, asyncio.ensure_future(anext(stream))


async def _until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never")


async def test_one_identity_shares_a_connection_and_another_gets_its_own(
    subgraph: tuple[Subgraph, str],
) -> None:
    served, url = subgraph
    streams = SubgraphStreams(connect_timeout=5)
    try:
        opened = [_open(streams, url, "Bearer alice") for _ in range(3)]
        opened.append(_open(streams, url, "Bearer bob"))
        alices = [stream for stream, _ in opened[:3]]
        bobs = opened[3][0]
        pending = [first for _, first in opened]
        await _until(lambda: sum(len(c["open"]) for c in served.connections) == 4)
        assert sorted(c["authorization"] for c in served.connections) == [
            "Bearer alice",
            "Bearer bob",
        ]
        assert streams.connections == 2
        await served.publish({"changed": 1})
        assert [(await p)["data"] for p in pending] == [{"changed": 1}] * 4
        # a stream that leaves is completed at the subgraph; its connection stays
        await alices[0].aclose()
        alice = next(c for c in served.connections if c["authorization"] == "Bearer alice")
        await _until(lambda: len(alice["completed"]) == 1)
        assert len(alice["open"]) == 2 and streams.connections == 2
        # the last stream of an identity closes its connection
        await bobs.aclose()
        await _until(lambda: streams.connections == 1)
        for stream in alices[1:]:
            await stream.aclose()
        await _until(lambda: streams.connections == 0)
    finally:
        await streams.close()


async def test_a_broken_connection_ends_every_stream_on_it_with_an_error(
    subgraph: tuple[Subgraph, str],
) -> None:
    served, url = subgraph
    streams = SubgraphStreams(connect_timeout=5)
    try:
        pending = [_open(streams, url, "Bearer alice")[1] for _ in range(2)]
        await _until(lambda: served.connections and len(served.connections[0]["open"]) == 2)
        await served.sockets[0].close()
        for waiting in pending:
            with pytest.raises(SubgraphUnreachable):
                await asyncio.wait_for(waiting, 5)
        await _until(lambda: streams.connections == 0)
        # the next stream of that identity opens a new connection
        again, waiting = _open(streams, url, "Bearer alice")
        await _until(lambda: len(served.connections) == 2 and served.connections[1]["open"])
        await served.publish({"changed": 2})
        assert (await asyncio.wait_for(waiting, 5))["data"] == {"changed": 2}
        await again.aclose()
    finally:
        await streams.close()


async def test_a_full_connection_is_joined_by_another_for_the_same_identity(
    subgraph: tuple[Subgraph, str],
) -> None:
    served, url = subgraph
    streams = SubgraphStreams(connect_timeout=5, per_connection=2)
    try:
        opened = [_open(streams, url, "Bearer alice") for _ in range(5)]
        await _until(lambda: sum(len(c["open"]) for c in served.connections) == 5)
        assert [len(c["open"]) for c in served.connections] == [2, 2, 1]
        await served.publish({"changed": 3})
        for _, first in opened:
            assert (await asyncio.wait_for(first, 5))["data"] == {"changed": 3}
        for stream, _ in opened:
            await stream.aclose()
        await _until(lambda: streams.connections == 0)
    finally:
        await streams.close()


async def test_a_stream_too_far_behind_ends_with_a_failure_after_what_it_holds() -> None:
    stream = _Stream()
    for n in range(STREAM_QUEUE):
        stream.offer({"data": {"n": n}})
    stream.offer({"data": {"n": "dropped"}})  # one too many: the stream is ended instead
    stream.offer({"data": {"n": "dropped too"}})
    taken = [await stream.get() for _ in range(STREAM_QUEUE)]
    assert [item["data"]["n"] for item in taken if item is not END] == list(range(STREAM_QUEUE))
    assert await stream.get() is END
    assert stream.failure == "the gateway fell behind the subgraph's events"
    stream.end(None)  # the connection closing later keeps the first failure
    assert stream.failure == "the gateway fell behind the subgraph's events"
