"""A WebSocket's text frames written straight to its socket, for subscription events.

Every event of a shared subscription goes to thousands of WebSockets. Through ASGI, each
send wakes the subscriber's task, takes Starlette's and the middleware's `send` wrappers
down to uvicorn, where `websockets` builds a frame object and serializes it: most of the
gateway's time per delivered event, measured (README, "Subscriptions"). Here the frame is
built from bytes encoded once per event and written to the connection's transport at once,
from the task that produced the event.

`WebSocketLane` is called before any middleware (the app's own __call__ takes WebSockets to
it): for a WebSocket served by uvicorn's `websockets` sans-I/O protocol (uvicorn's default
when `websockets` is installed, as it is here) it puts a `_Direct` in
`scope["extensions"][DIRECT]`, whose `write(payload) -> bool` takes a complete text message
(UTF-8 JSON). It writes nothing and answers False when
the frame cannot go now (the handshake not done, a close sent or received, the transport
paused by a full buffer): the caller then queues the message and sends it the ordinary way,
which waits for the buffer to drain. Under any other server or protocol no writer is
offered and every message takes the ordinary way.

The lane also takes the WebSockets of one path (the gateway's /graphql) straight to their
handler, wrapped in the middleware that acts on WebSockets (given: AuthMiddleware), past
the rest of the stack: every other middleware of the app passes a WebSocket on untouched,
yet each would hold a coroutine frame (and FastAPI's exit stack a deque) for as long as the
connection lives, about 9 KB a connection of the 42 measured (tracemalloc, 1,000
connections), Starlette's and FastAPI's own layers included. A middleware that comes to
act on WebSockets belongs in that wrapper too.

Once the handshake is done the app asks the lane to `trim` what the server keeps of it
(the request and response, their headers, an asyncio.Queue and Event, a ping timer: about
10 KB a connection), and calls its `keep_alive` on the app's own keep-alive beat in place
of uvicorn's per-connection ping timer (README, "Memory per subscription").

A frame written here is a whole, unfragmented, unmasked (server to client) text frame with
the RSV bits clear, so it is valid whatever extension the client negotiated: under
permessage-deflate a message whose RSV1 bit is clear is simply not compressed (RFC 7692,
7.2.3.1), and `websockets` keeps no sending state that a whole frame could disturb."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from gateway.single_reader_queue import SingleReaderQueue

__all__ = [
    "DIRECT",
    "WebSocketLane",
    "direct_writer",
    "protocol_keep_alive",
    "text_frame",
    "trim_after_handshake",
]

DIRECT = "gateway.websocket.direct"
WriteText = Callable[[bytes], bool]

_FIN_TEXT = 0x81  # FIN, RSV1-3 clear, opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """A whole text frame, server to client (no mask), RFC 6455 5.2."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_TEXT, 126, size) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, size) + payload


def _writer(protocol: WebSocketsSansIOProtocol) -> WriteText:
    return _Direct(protocol).write


class _ReceiveQueue(SingleReaderQueue[Any]):
    """What uvicorn's protocol needs of its receive queue (`put_nowait`, `get`, `empty`)
    without an asyncio.Queue's four deques and event, 3.5 KB held for each open connection.
    Unbounded as uvicorn's own is: uvicorn pauses reading after each message until it is
    taken, so it holds at most a message and a disconnect."""

    __slots__ = ()

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__()
        for item in items:
            self.put(item)

    def put_nowait(self, item: Any) -> None:
        self.put(item)


class _Writable:
    """What uvicorn's protocol needs of its `writable` event (`set`, `clear`, `is_set`,
    `wait`) without an asyncio.Event's deque of waiters (760 bytes) held for each open
    connection: the waiters' list is made only while the transport's buffer is full."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)


class _Direct:
    """What the lane offers for one connection of uvicorn's sans-I/O protocol: `write`,
    `trim` and `keep_alive` (one object with its methods, not three closures: 600 bytes
    less held per connection)."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self.protocol = protocol

    def write(self, payload: bytes) -> bool:
        protocol = self.protocol
        if (
            not protocol.handshake_complete
            or protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
        ):
            return False
        transport = protocol.transport
        if transport.is_closing():
            return False
        transport.write(text_frame(payload))
        return True

    def trim(self) -> None:
        """What uvicorn and `websockets` keep of the handshake, dropped once it is done
        (about 8 KB of the 42 a connection held, by tracemalloc): the request and response
        with their headers (also held by the handshake parser's frame, which goes on as the
        frame parser); and the asyncio.Queue of received messages and the `writable` event,
        swapped for lighter ones while nobody waits on them."""
        protocol = self.protocol
        if not protocol.handshake_complete:
            return
        protocol.request = None  # type: ignore[assignment]
        protocol.response = None  # type: ignore[assignment]
        frame = getattr(protocol.conn.parser, "gi_frame", None)
        if frame is not None:
            # a write-through view of the suspended frame's locals from Python 3.13 on
            # (PEP 667), a copy before it: then the request stays, nothing breaks
            with contextlib.suppress(Exception):
                if "request" in frame.f_locals:
                    frame.f_locals["request"] = None
        # uvicorn's WebSocket pings go on from the app's keep-alive beat (`keep_alive`), not
        # from a timer of each connection's own (550 bytes held per connection)
        if protocol.ping_timer is not None:
            protocol.ping_timer.cancel()
            protocol.ping_timer = None
            protocol.ping_sent_at = protocol.loop.time()
        queue = protocol.queue  # swapped only while nobody waits on it
        if type(queue) is asyncio.Queue and not queue._getters:  # type: ignore[attr-defined]
            items = []
            while not queue.empty():
                items.append(queue.get_nowait())
            protocol.queue = _ReceiveQueue(items)  # type: ignore[assignment]
        writable = protocol.writable
        if type(writable) is asyncio.Event and writable.is_set() and not writable._waiters:
            protocol.writable = _Writable()  # type: ignore[assignment]

    def keep_alive(self) -> None:
        """uvicorn's WebSocket-level keep-alive, called on the app's keep-alive beat: a
        ping every `ws_ping_interval`, and the connection failed (1011, as uvicorn does)
        when the pong has not come within `ws_ping_timeout`; both as often as the beat
        comes, so up to a beat later than uvicorn's own timers would."""
        protocol = self.protocol
        interval, timeout = protocol.ping_interval, protocol.ping_timeout
        if not interval or protocol.close_sent or protocol.transport.is_closing():
            return
        if protocol.ping_timer is not None or protocol.pong_timer is not None:
            return  # uvicorn's own timers still run (not trimmed)
        now = protocol.loop.time()
        if protocol.pending_ping_payload is not None:
            if timeout is not None and now - protocol.ping_sent_at >= timeout:
                protocol.keepalive_timeout()
            return
        if now - protocol.ping_sent_at >= interval:
            payload = struct.pack("!I", random.getrandbits(32))
            protocol.pending_ping_payload = payload
            protocol.ping_sent_at = now
            protocol.conn.send_ping(payload)
            protocol.transport.write(b"".join(protocol.conn.data_to_send()))


def _direct(scope: Scope) -> _Direct | None:
    direct = scope.get("extensions", {}).get(DIRECT)
    return direct if isinstance(direct, _Direct) else None


def protocol_keep_alive(scope: Scope) -> Callable[[], None] | None:
    """The server's WebSocket-level keep-alive, for the app to call on its keep-alive
    beat, where the server offers it (see `trim_after_handshake`)."""
    direct = _direct(scope)
    return direct.keep_alive if direct is not None else None


def trim_after_handshake(scope: Scope) -> None:
    """Drop what the server keeps of a finished handshake, where it offers to."""
    direct = _direct(scope)
    if direct is not None:
        direct.trim()


def direct_writer(scope: Scope) -> WriteText | None:
    direct = _direct(scope)
    return direct.write if direct is not None else None


class WebSocketLane:
    """Offers a WebSocket's direct writer to the app, and takes the WebSockets of `path` to
    `handler` (see the module's doc). Add it as the outermost middleware: it needs
    uvicorn's own `send`, not a wrapper of it."""

    def __init__(self, app: ASGIApp, path: str, handler: ASGIApp) -> None:
        self.app = app
        self.path = path
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            if isinstance(protocol, WebSocketsSansIOProtocol):
                scope.setdefault("extensions", {})[DIRECT] = _Direct(protocol)
            if scope["path"] == self.path:
                await self.handler(scope, receive, send)
                return
        await self.app(scope, receive, send)
