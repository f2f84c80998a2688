"""Test clients for GraphQL subscriptions: graphql-transport-ws over WebSocket and GraphQL
over SSE, as a front end would speak them, with bounded waits (a test never hangs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

__all__ = ["PROTOCOL", "GraphQLWs", "SseEvents", "graphql_ws", "sse_subscription"]

Json = dict[str, Any]
PROTOCOL = Subprotocol("graphql-transport-ws")


class GraphQLWs:
    """One graphql-transport-ws connection, initialised (connection_ack received)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def subscribe(self, operation_id: str, query: str, variables: Json | None = None) -> None:
        payload: Json = {"query": query, "variables": variables or {}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def send(self, message: Json) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, within: float = 10.0) -> Json:
        """The next message other than a ping (answered)."""
        while True:
            text = await asyncio.wait_for(self.socket.recv(), within)
            message: Json = json.loads(text)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def next_payload(self, operation_id: str, within: float = 10.0) -> Json:
        message = await self.receive(within)
        assert message.get("id") == operation_id, message
        assert message["type"] == "next", message
        payload: Json = message["payload"]
        return payload


@asynccontextmanager
async def graphql_ws(
    url: str,
    *,
    token: str | None = None,
    header_token: str | None = None,
    init_payload: Json | None = None,
) -> AsyncIterator[GraphQLWs]:
    """`url` (http:// or ws://) connected and initialised; `token` goes in connection_init's
    payload, `header_token` in the upgrade request's Authorization header."""
    ws_url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    headers = {"Authorization": f"Bearer {header_token}"} if header_token else None
    async with connect(
        ws_url,
        subprotocols=[PROTOCOL],
        additional_headers=headers,
    ) as socket:
        client = GraphQLWs(socket)
        payload = dict(init_payload or {})
        if token:
            payload["Authorization"] = f"Bearer {token}"
        await client.send({"type": "connection_init", "payload": payload})
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client


class SseEvents:
    """The events of one SSE response, parsed: (event, data) pairs."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_event(self, within: float = 10.0) -> tuple[str, Any]:
        return await asyncio.wait_for(self._next_event(), within)

    async def _next_event(self) -> tuple[str, Any]:
        event, data = "message", list[str]()
        async for line in self._lines:
            if line == "":
                if data or event != "message":
                    text = "\n".join(data)
                    return event, (json.loads(text) if text else None)
                continue
            if line.startswith(":"):
                continue  # a keep-alive comment
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        raise EOFError("the stream ended")


@asynccontextmanager
async def sse_subscription(
    url: str,
    query: str | None = None,
    variables: Json | None = None,
    *,
    token: str | None = None,
    method: str = "POST",
) -> AsyncIterator[SseEvents]:
    """POST `query` to `url` asking for text/event-stream (or GET `url`, method="GET")."""
    headers = {"Accept": "text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(timeout=timeout) as client:
        body = {"query": query, "variables": variables or {}} if query is not None else None
        async with client.stream(method, url, json=body, headers=headers) as response:
            yield SseEvents(response)
