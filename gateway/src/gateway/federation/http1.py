"""Adapter: a small HTTP/1.1 client for the gateway's POSTs to subgraphs over plain HTTP.

Kept connections per origin (host, port), reused last-in first-out; the request written in
one piece; the response read by httptools (llhttp, the C parser uvicorn already uses) on the
running loop's own transport. That is all a subgraph call needs, and it is the gateway's
most frequent piece of I/O: the deep query of the federation bench makes six calls per
client request. Measured on that bench's subgraphs, 50 calls in flight, one core: aiohttp
206 us of CPU per call, this client 55 us (README, "Gateway speed").

What it keeps from aiohttp's behaviour, because the rest of the gateway relies on it:
- one deadline per call (connect and answer together), and a connect deadline of its own;
- a call its caller stops waiting for (cancelled: its client left; or past its deadline)
  closes its connection, so the subgraph sees the disconnect and cancels its work
  (platform_kit.disconnect); that connection is never reused;
- at most `limit` connections open at once, callers beyond it wait for one to be free;
- a header value holding CR, LF or NUL is refused before anything is written.

A kept connection the subgraph closed while idle is found out when it is next taken (or
sooner: its close is noticed by the loop); a call that finds it closed before any byte of
the answer came is sent again once on a new connection when the caller says it may be
(`retry`: a query, never a mutation)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectionPool", "HttpFailure", "Origin"]

KEEP_IDLE_SECONDS = 15.0  # as aiohttp: a connection idle longer is closed, not reused
MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # beyond it a subgraph's answer is a failure
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


class HttpFailure(Exception):
    """No usable HTTP answer: refused, reset, timed out, malformed, too large."""


class _Stale(HttpFailure):
    """The connection was closed before any byte of the answer came: nothing was read."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one URL's requests go, and the fixed start of each request to it."""

    host: str
    port: int
    head: bytes  # "POST <path> HTTP/1.1\r\nHost: <host>\r\n"

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not a plain http:// URL: {url!r}")
        port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = parts.hostname
        if ":" in host:  # an IPv6 address, bracketed in the Host header
            authority = f"[{host}]" if parts.port is None else f"[{host}]:{port}"
        else:
            authority = host if parts.port is None else f"{host}:{port}"
        head = f"POST {path} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii")
        return cls(host, port, head)


def header_block(headers: dict[str, str]) -> bytes:
    """The request's own header lines (without Host and Content-Length)."""
    lines = []
    for name, value in headers.items():
        for forbidden in _FORBIDDEN_IN_HEADERS:
            if forbidden in value or forbidden in name:
                raise HttpFailure(f"header {name!r} holds a line break or NUL")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8")


class _Connection(asyncio.Protocol):
    """One kept connection: at most one request on it at a time."""

    __slots__ = (
        "_chunks",
        "_parser",
        "_size",
        "_status",
        "_waiter",
        "closed",
        "idle_since",
        "origin",
        "pool",
        "received",
        "transport",
    )

    def __init__(self, pool: ConnectionPool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._status = 0
        self.closed = False
        self.received = False  # a byte of the current answer came
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing was asked: a server speaking out of turn
            self.close()
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(HttpFailure(f"malformed HTTP answer: {error}"))

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._lost(self)
        if self._waiter is not None and not self._waiter.done():
            if self.received:
                self._fail(HttpFailure("the connection closed before the answer ended"))
            else:
                self._fail(_Stale("the connection closed before an answer"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._chunks = []
        self._size = 0

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_RESPONSE_BYTES:
            self._fail(HttpFailure("the answer is too large"))
            return
        self._chunks.append(body)

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_message_complete(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks = []
        waiter.set_result((self._status, body, self._parser.should_keep_alive()))

    # the pool's side
    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        waiter: asyncio.Future[tuple[int, bytes, bool]]
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self.received = False
        self.transport.write(request)
        try:
            return await waiter
        finally:
            self._waiter = None

    def _fail(self, error: HttpFailure) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self.pool._lost(self)


class ConnectionPool:
    """Kept connections to any number of origins, at most `limit` open at once."""

    def __init__(self, timeout: float, connect_timeout: float, limit: int = 256) -> None:
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.limit = limit
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._origins: dict[str, Origin] = {}

    def origin(self, url: str) -> Origin:
        origin = self._origins.get(url)
        if origin is None:
            origin = self._origins[url] = Origin.of(url)
        return origin

    def __len__(self) -> int:
        """Connections open (in use or kept)."""
        return len(self._open)

    async def post(
        self, url: str, headers: bytes, body: bytes, *, retry: bool = False
    ) -> tuple[int, bytes]:
        """POST `body` with the header lines `headers` (header_block); (status, body).
        Raises HttpFailure; a cancelled call closes its connection."""
        origin = self.origin(url)
        request = b"".join(
            (origin.head, b"Content-Length: %d\r\n" % len(body), headers, b"\r\n", body)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    return await self._send(origin, request, deadline)
                except _Stale:
                    if not retry:
                        raise
                return await self._send(origin, request, deadline, fresh=True)
        except TimeoutError:
            raise HttpFailure("TimeoutError") from None

    async def _send(
        self, origin: Origin, request: bytes, deadline: float, fresh: bool = False
    ) -> tuple[int, bytes]:
        connection = None if fresh else self._kept(origin)
        if connection is None:
            connection = await self._connect(origin, deadline)
        try:
            status, body, keep = await connection.exchange(request)
        except BaseException:
            connection.close()  # never reused: an answer may still be on its way
            raise
        if keep and not connection.closed:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(origin, []).append(connection)
            self._wake()
        else:
            connection.close()
        return status, body

    def _kept(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > KEEP_IDLE_SECONDS:
                connection.close()
                continue
            return connection
        return None

    async def _connect(self, origin: Origin, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        while len(self._open) >= self.limit:
            if not self._close_an_idle_one():
                waiter = loop.create_future()
                self._waiting.append(waiter)
                try:
                    await waiter
                finally:
                    if not waiter.done():
                        waiter.cancel()
        connection = _Connection(self, origin)
        self._open.add(connection)
        try:
            async with asyncio.timeout(min(self.connect_timeout, deadline - loop.time())):
                await loop.create_connection(lambda: connection, origin.host, origin.port)
        except (OSError, TimeoutError) as error:
            connection.close()
            raise HttpFailure(type(error).__name__) from None
        except BaseException:
            connection.close()
            raise
        return connection

    def _close_an_idle_one(self) -> bool:
        for idle in self._idle.values():
            while idle:
                connection = idle.pop(0)  # the longest idle
                if not connection.closed:
                    connection.close()
                    return True
        return False

    def _lost(self, connection: _Connection) -> None:
        if connection in self._open:
            self._open.discard(connection)
            self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
