"""Adapter: a subscription's root fetch, streamed from its subgraph over WebSocket with the
`graphql-transport-ws` protocol, on the process's one aiohttp session.

Why WebSocket and not SSE to the subgraphs: Strawberry, which serves the subgraphs, speaks
graphql-transport-ws (and multipart HTTP), not GraphQL over SSE; and a long-lived HTTP
request would hold one of the subgraph's admission slots (platform_kit.admission) and run
under its request deadline for as long as it lives, where a WebSocket holds neither.

One upstream connection per client subscription, on a session of their own, carrying the
client's own Authorization on its upgrade request: the subgraph decides what that caller
may see (a customer only their own orders), so a connection is never shared between
callers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from opentelemetry import propagate

from gateway.federation.transport import SubgraphUnreachable
from platform_kit.request_context import (
    REQUEST_ID_HEADER,
    current_authorization,
    current_request_id,
)

__all__ = ["PROTOCOL", "SubgraphStreams", "ws_url"]

PROTOCOL = "graphql-transport-ws"
Json = dict[str, Any]
HEARTBEAT_SECONDS = 15.0  # WebSocket pings: a dead subgraph is noticed, not waited for


def ws_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


class SubgraphStreams:
    """Opens subscriptions at subgraphs; each is an async iterator of GraphQL results (the
    payloads of `next`). Raises SubgraphUnreachable when the stream cannot be opened or
    breaks off; ends when the subgraph completes it."""

    def __init__(self, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # A session of their own, not the request pool's: a subscription holds its
        # connection for as long as it lives, and in the request pool (SubgraphTransport,
        # 256 connections) enough of them would leave no connection for queries. Their
        # number is bounded by the subscription limits instead.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def stream(
        self, url: str, operation: str, variables: Mapping[str, Any]
    ) -> AsyncIterator[Json]:
        headers: dict[str, str] = {}
        authorization = current_authorization.get()
        if authorization:
            headers["Authorization"] = authorization
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        propagate.inject(headers)
        try:
            socket = await self._client().ws_connect(
                ws_url(url),
                protocols=(PROTOCOL,),
                headers=headers,
                heartbeat=HEARTBEAT_SECONDS,
                timeout=aiohttp.ClientWSTimeout(ws_close=1.0),
                max_msg_size=16 * 1024 * 1024,
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SubgraphUnreachable(type(error).__name__) from None
        try:
            await socket.send_str(orjson.dumps({"type": "connection_init"}).decode())
            ack = await socket.receive(timeout=self.connect_timeout)
            if ack.type is not aiohttp.WSMsgType.TEXT or _type(ack.data) != "connection_ack":
                raise SubgraphUnreachable(f"no connection_ack ({ack.type.name})")
            subscribe = {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": operation, "variables": dict(variables)},
            }
            await socket.send_str(orjson.dumps(subscribe).decode())
            async for message in socket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed, or an error: the stream broke off
                body = orjson.loads(message.data)
                kind = body.get("type")
                if kind == "next":
                    yield body.get("payload") or {}
                elif kind == "error":  # the operation was refused before it ran
                    yield {"data": None, "errors": body.get("payload") or []}
                    return
                elif kind == "complete":
                    return
                elif kind == "ping":
                    await socket.send_str(orjson.dumps({"type": "pong"}).decode())
            raise SubgraphUnreachable(f"the stream closed (code {socket.close_code})")
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as error:
            raise SubgraphUnreachable(type(error).__name__) from None
        finally:
            await socket.close()


def _type(text: str) -> Any:
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return body.get("type") if isinstance(body, dict) else None
