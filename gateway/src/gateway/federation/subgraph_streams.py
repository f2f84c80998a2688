"""Adapter: a subscription's root fetch, streamed from its subgraph over WebSocket with the
`graphql-transport-ws` protocol.

Why WebSocket and not SSE to the subgraphs: Strawberry, which serves the subgraphs, speaks
graphql-transport-ws (and multipart HTTP), not GraphQL over SSE; and a long-lived HTTP
request would hold one of the subgraph's admission slots (platform_kit.admission) and run
under its request deadline for as long as it lives, where a WebSocket holds neither.

Connections are pooled by (subgraph, Authorization): the subgraph decides what a caller may
see from the identity the connection was opened with (a customer only their own orders),
so one connection carries the streams of one identity only, never another's; the streams
of that identity are multiplexed on it (up to `per_connection`, each its own operation id),
instead of a connection, a handshake and a subgraph task each. A connection that breaks
ends every stream on it with SubgraphUnreachable (each caller hears of it, never silence);
one that carries no stream any more is closed.

Resuming: a subgraph sends each event's position in its source (`extensions.resumeToken`,
platform_kit.stream_positions). When a stream breaks off (the connection closes, or the
subgraph ends it as unavailable: it is shutting down, or its change stream failed) after
an event with a position, the stream is opened again, on a new connection once the
subgraph is back, with that position (`extensions.resumeToken` of the subscribe message):
the subgraph sends the changes made meanwhile first. The caller sees the events go on,
none lost; only when the subgraph is not back within `resume_seconds`, or the stream broke
before any position was known (then changes made meanwhile could be missed unseen), does
it end with SubgraphUnreachable: every event, or a coded error, never silence."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from opentelemetry import propagate

from gateway.federation.transport import SubgraphUnreachable
from gateway.single_reader_queue import END, SingleReaderQueue
from platform_kit.request_context import (
    REQUEST_ID_HEADER,
    current_authorization,
    current_request_id,
)

__all__ = ["PROTOCOL", "SubgraphStreams", "ws_url"]

PROTOCOL = "graphql-transport-ws"
Json = dict[str, Any]
HEARTBEAT_SECONDS = 15.0  # WebSocket pings: a dead subgraph is noticed, not waited for
# streams multiplexed on one upstream connection: Strawberry (our subgraphs) refuses more
# than 100 operations on one connection by default ("Subscription limit reached")
PER_CONNECTION = 100
# events of one stream read from the connection and not yet taken by its consumer: the
# connection's reader never waits for one slow stream (that would hold back the others)
STREAM_QUEUE = 1024
# how long a broken stream is tried again (a subgraph restarting) before it is given up
RESUME_SECONDS = 30.0
RESUME_EXTENSION = "resumeToken"
UNAVAILABLE = "SERVICE_UNAVAILABLE"


def ws_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


class _Stream(SingleReaderQueue[Json]):
    """One stream's events read from the connection and not yet taken by its consumer,
    then the end (with the `failure` that broke it off, if any). Not an asyncio.Queue (four
    deques and an event, 3.5 KB): one is held per open upstream stream, thousands of them
    (a topic each), most of the time empty."""

    __slots__ = ("failure",)

    def __init__(self) -> None:
        super().__init__()
        self.failure: str | None = None

    def offer(self, item: Json) -> None:
        """Queues an event; a consumer STREAM_QUEUE events behind is broken off instead."""
        if self.pending >= STREAM_QUEUE:
            self.end("the gateway fell behind the subgraph's events")
        else:
            self.put(item)

    def end(self, failure: str | None) -> None:
        if self.failure is None:
            self.failure = failure
        self.put_end()


class _Connection:
    """One upstream graphql-transport-ws connection and the streams on it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.streams: dict[str, _Stream] = {}
        self.next_id = 0
        self.closed = False
        self.reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        reason = "the stream closed"
        try:
            async for message in self.socket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed, or an error: every stream broke off
                body = orjson.loads(message.data)
                kind = body.get("type")
                stream = self.streams.get(str(body.get("id")))
                if kind == "next":
                    if stream is not None:
                        stream.offer(body.get("payload") or {})
                elif kind == "error":  # the operation was refused before it ran
                    if stream is not None:
                        stream.offer({"data": None, "errors": body.get("payload") or []})
                        stream.end(None)
                elif kind == "complete":
                    if stream is not None:
                        stream.end(None)
                elif kind == "ping":
                    await self.socket.send_str('{"type":"pong"}')
            reason = f"the stream closed (code {self.socket.close_code})"
        except (aiohttp.ClientError, orjson.JSONDecodeError, ConnectionError) as error:
            reason = type(error).__name__
        finally:
            self.closed = True
            for stream in self.streams.values():
                stream.end(reason)
            self.streams.clear()

    async def close(self) -> None:
        self.closed = True
        if self.reader is not None:
            self.reader.cancel()
        with contextlib.suppress(Exception):
            await self.socket.close()


class SubgraphStreams:
    """Opens subscriptions at subgraphs; each is an async iterator of GraphQL results (the
    payloads of `next`). Raises SubgraphUnreachable when the stream cannot be opened or
    breaks off; ends when the subgraph completes it."""

    def __init__(
        self,
        connect_timeout: float,
        per_connection: int = PER_CONNECTION,
        resume_seconds: float = RESUME_SECONDS,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.per_connection = per_connection
        self.resume_seconds = resume_seconds
        self._session: aiohttp.ClientSession | None = None
        self._pool: dict[tuple[str, str | None], list[_Connection]] = {}
        self._connecting: dict[tuple[str, str | None], asyncio.Future[_Connection]] = {}

    def _client(self) -> aiohttp.ClientSession:
        # A session of their own, not the request pool's: a subscription connection lives as
        # long as its streams, and in the request pool (SubgraphTransport, 256 connections)
        # enough of them would leave no connection for queries. Their number is bounded by
        # the subscription limits instead.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    @property
    def connections(self) -> int:
        return sum(len(held) for held in self._pool.values())

    async def close(self) -> None:
        for held in list(self._pool.values()):
            for connection in held:
                await connection.close()
        self._pool.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _connection(self, url: str, authorization: str | None) -> _Connection:
        key = (url, authorization)
        while True:
            held = self._pool.setdefault(key, [])
            for connection in held:
                if not connection.closed and len(connection.streams) < self.per_connection:
                    return connection
            pending = self._connecting.get(key)
            if pending is None:
                break
            # another stream of this identity is opening a connection: share it
            await asyncio.shield(pending)
        future: asyncio.Future[_Connection] = asyncio.get_running_loop().create_future()
        self._connecting[key] = future
        try:
            connection = await self._open(url, authorization)
            self._pool.setdefault(key, []).append(connection)
            future.set_result(connection)
            return connection
        except BaseException as error:
            if not self._pool.get(key):
                self._pool.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved here: the waiters try again on their own
            raise
        finally:
            del self._connecting[key]

    async def _open(self, url: str, authorization: str | None) -> _Connection:
        headers: dict[str, str] = {}
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
            await socket.send_str('{"type":"connection_init"}')
            ack = await socket.receive(timeout=self.connect_timeout)
            if ack.type is not aiohttp.WSMsgType.TEXT or _type(ack.data) != "connection_ack":
                raise SubgraphUnreachable(f"no connection_ack ({ack.type.name})")
        except (aiohttp.ClientError, TimeoutError) as error:
            await socket.close()
            raise SubgraphUnreachable(type(error).__name__) from None
        except BaseException:
            await socket.close()
            raise
        connection = _Connection(socket)
        connection.reader = asyncio.create_task(connection.read())
        return connection

    def _release(self, url: str, authorization: str | None, connection: _Connection) -> None:
        if connection.streams and not connection.closed:
            return
        held = self._pool.get((url, authorization), [])
        if connection in held:
            held.remove(connection)
            if not held:
                del self._pool[(url, authorization)]
        task = asyncio.ensure_future(connection.close())
        task.add_done_callback(lambda done: done.exception())

    async def stream(
        self, url: str, operation: str, variables: Mapping[str, Any]
    ) -> AsyncIterator[Json]:
        # one generator for the whole life of the stream, resumes included (one is held
        # per open topic: a nested one would be another frame each)
        authorization = current_authorization.get() or None
        position: str | None = None  # of the last event, as the subgraph gave it
        while True:
            connection = await self._connection(url, authorization)
            connection.next_id += 1
            operation_id = str(connection.next_id)
            stream = _Stream()
            connection.streams[operation_id] = stream
            completed = False
            failure: SubgraphUnreachable | None = None
            try:
                payload: Json = {"query": operation, "variables": dict(variables)}
                if position is not None:
                    payload["extensions"] = {RESUME_EXTENSION: position}
                subscribe = {"id": operation_id, "type": "subscribe", "payload": payload}
                try:
                    await connection.socket.send_str(orjson.dumps(subscribe).decode())
                except (aiohttp.ClientError, ConnectionError) as error:
                    raise SubgraphUnreachable(type(error).__name__) from None
                del payload, subscribe
                while True:
                    item = await stream.get()
                    if item is END:
                        completed = True
                        if stream.failure is not None:
                            raise SubgraphUnreachable(stream.failure)
                        return  # the subgraph completed it
                    position = _take_position(item, position)
                    if position is not None and _unavailable(item):
                        # the subgraph is going away, or its source failed: resumed below
                        raise SubgraphUnreachable(_message(item))
                    yield item
                    del item  # not held while waiting for the next
            except SubgraphUnreachable as broken:
                if position is None:
                    raise
                failure = broken
            finally:
                left = connection.streams.pop(operation_id, None) is not None and not completed
                if left and not connection.closed:
                    # the caller left, or the subgraph said it is unavailable: the subgraph
                    # stops this operation, the connection stays
                    with contextlib.suppress(Exception):
                        message = {"id": operation_id, "type": "complete"}
                        await connection.socket.send_str(orjson.dumps(message).decode())
                self._release(url, authorization, connection)
            if failure is not None:
                await self._back(url, authorization, failure)

    async def _back(self, url: str, authorization: str | None, broken: Exception) -> None:
        """Waits until the subgraph takes connections again (a connection opened, and
        pooled for the stream to open on), within `resume_seconds`; raises
        SubgraphUnreachable after that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.resume_seconds
        delay = 0.1
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connection(url, authorization)
                return
            except SubgraphUnreachable:
                if loop.time() + delay >= deadline:
                    raise SubgraphUnreachable(
                        f"{broken}; not back within {self.resume_seconds:g} s"
                    ) from None
                delay = min(delay * 2, 1.0)


def _take_position(item: Json, position: str | None) -> str | None:
    """The event's position (taken out of its extensions), else the one before."""
    extensions = item.get("extensions")
    if isinstance(extensions, dict):
        given = extensions.pop(RESUME_EXTENSION, None)
        if isinstance(given, str):
            position = given
        if not extensions:
            del item["extensions"]
    return position


def _unavailable(item: Json) -> bool:
    """An event that is only errors, all coded SERVICE_UNAVAILABLE (what a subgraph sends
    when it shuts down, or when its source fails: worth resuming, not ending)."""
    errors = item.get("errors")
    if item.get("data") is not None or not isinstance(errors, list) or not errors:
        return False
    return all(
        isinstance(error, dict)
        and isinstance(error.get("extensions"), dict)
        and error["extensions"].get("code") == UNAVAILABLE
        for error in errors
    )


def _message(item: Json) -> str:
    errors = item.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return str(first.get("message") or "the subgraph ended the stream")


def _type(text: str) -> Any:
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return body.get("type") if isinstance(body, dict) else None
