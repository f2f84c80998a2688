"""Adapter: HTTP to the subgraphs, one connection pool per process.

Plain http:// subgraphs are called through the gateway's own small HTTP/1.1 client
(http1.py: 55-60 us of CPU per call at 50 in flight, against 206-218 us for aiohttp on the
same calls); https:// ones, and the readiness checks, through aiohttp, chosen over httpx by
measurement (README): 50 concurrent posts cost about 100-155 us of client CPU each with
aiohttp and 2,200-2,600 us with httpx, whose pool and per-call async-library detection grow
with concurrency.

Identical query requests in flight to one subgraph for one identity (same URL, same bytes,
same Authorization) are sent once and their answer shared, when `deduplicate` is on.

Each request tells the subgraph how long the gateway will wait (X-Request-Timeout-Ms), so
its database work stops by then, and names the end client (platform_kit.clients), so the
subgraph's admission control shares its capacity between end clients, not between gateways.
A call the gateway stops waiting for (its timeout, or its client left and the request was
cancelled) closes its connection, and the subgraph cancels the work (platform_kit.disconnect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from opentelemetry import context as otel_context
from opentelemetry import propagate

from gateway.federation.http1 import ConnectionPool, HttpFailure, header_block
from gateway.federation.inflight import InflightDeduplicator
from platform_kit.clients import current_client
from platform_kit.request_context import (
    REQUEST_ID_HEADER,
    REQUEST_TIMEOUT_HEADER,
    current_authorization,
    current_request_id,
)

__all__ = ["SubgraphReply", "SubgraphTransport", "SubgraphUnreachable"]


class SubgraphUnreachable(Exception):
    """No HTTP answer: refused, reset, timed out."""


@dataclass(frozen=True)
class SubgraphReply:
    status: int
    body: bytes


class _Headers:
    """One request's headers to its subgraphs, made once for all its calls (the same
    identity, client, request id and trace context), with their HTTP/1.1 lines."""

    __slots__ = ("_block", "client", "fields", "trace")

    def __init__(self, fields: dict[str, str], client: Any, trace: Any) -> None:
        self.fields = fields
        self.client = client
        self.trace = trace
        self._block: bytes | None = None

    def block(self) -> bytes:
        if self._block is None:
            self._block = header_block(self.fields)
        return self._block


# requests whose headers are kept (each made again past that: they are a few dict entries)
_MADE_HEADERS = 1024


class SubgraphTransport:
    def __init__(self, timeout: float, deduplicate: bool = True, pool_size: int = 256) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))
        self.timeout_header = str(max(1, int(timeout * 1000)))
        self.deduplicate = deduplicate
        self.pool_size = pool_size
        self.inflight: InflightDeduplicator[SubgraphReply] = InflightDeduplicator()
        self._session: aiohttp.ClientSession | None = None
        self._pool = ConnectionPool(timeout, min(timeout, 2.0), pool_size)
        self._made: dict[tuple[Any, ...], _Headers] = {}

    def _client(self) -> aiohttp.ClientSession:
        # made on first use, inside the running loop (aiohttp binds a session to its loop)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=0),
                timeout=self.timeout,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        await self._pool.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, *, shareable: bool) -> SubgraphReply:
        """POST a GraphQL request. `shareable`: a query, which an identical request in
        flight may answer; never a mutation."""
        authorization = current_authorization.get()
        headers = self._headers(authorization)
        if shareable and self.deduplicate:
            return await self.inflight.run(
                (url, body, authorization), lambda: self._send(url, body, headers, shareable)
            )
        return await self._send(url, body, headers, shareable)

    def _headers(self, authorization: str | None) -> _Headers:
        """The current request's headers, made on its first call."""
        client = current_client.get()
        request_id = current_request_id.get()
        trace = otel_context.get_current()
        key = (authorization, request_id, id(client), id(trace))
        made = self._made.get(key)
        if made is not None and made.client is client and made.trace is trace:
            return made
        fields = {"Content-Type": "application/json", REQUEST_TIMEOUT_HEADER: self.timeout_header}
        if client is not None:
            fields.update(client.headers())
        if authorization:
            fields["Authorization"] = authorization
        if request_id:
            fields[REQUEST_ID_HEADER] = request_id
        propagate.inject(fields, context=trace)  # W3C traceparent: one trace across services
        made = _Headers(fields, client, trace)
        if len(self._made) >= _MADE_HEADERS:
            self._made.clear()
        self._made[key] = made
        return made

    async def _send(
        self, url: str, body: bytes, headers: _Headers, shareable: bool
    ) -> SubgraphReply:
        if url.startswith("http://"):
            try:
                # a query found its kept connection closed by the subgraph is sent again
                status, reply = await self._pool.post(url, headers.block(), body, retry=shareable)
            except HttpFailure as error:
                raise SubgraphUnreachable(str(error)) from None
            return SubgraphReply(status, reply)
        try:
            async with self._client().post(url, data=body, headers=headers.fields) as response:
                return SubgraphReply(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SubgraphUnreachable(type(error).__name__) from None

    async def status_of(self, url: str) -> int:
        try:
            async with self._client().get(url) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SubgraphUnreachable(type(error).__name__) from None
