"""A WebSocket's text frames written straight to its socket, for subscription events.

Every event of a shared subscription goes to thousands of WebSockets. Through ASGI, each
send wakes the subscriber's task, takes Starlette's and the middleware's `send` wrappers
down to uvicorn, where `websockets` builds a frame object and serializes it: most of the
gateway's time per delivered event, measured (README, "Subscriptions"). Here the frame is
built from bytes encoded once per event and written to the connection's transport at once,
from the task that produced the event.

`WebSocketLane` is the outermost ASGI middleware: for a WebSocket served by uvicorn's
`websockets` sans-I/O protocol (uvicorn's default when `websockets` is installed, as it is
here) it puts a writer in `scope["extensions"][DIRECT_WRITE]`: `write(payload) -> bool`,
the payload a complete text message (UTF-8 JSON). It writes nothing and answers False when
the frame cannot go now (the handshake not done, a close sent or received, the transport
paused by a full buffer): the caller then queues the message and sends it the ordinary way,
which waits for the buffer to drain. Under any other server or protocol no writer is
offered and every message takes the ordinary way.

The lane also takes the WebSockets of one path (the gateway's /graphql) straight to their
handler, wrapped in the middleware that acts on WebSockets (given: AuthMiddleware), past
the rest of the stack: every other middleware of the app passes a WebSocket on untouched,
yet each would hold a coroutine frame (and FastAPI's exit stack a deque) for as long as the
connection lives, about 9 KB a connection of the 42 measured (tracemalloc, 1,000
connections). A middleware that comes to act on WebSockets belongs in that wrapper too.

A frame written here is a whole, unfragmented, unmasked (server to client) text frame with
the RSV bits clear, so it is valid whatever extension the client negotiated: under
permessage-deflate a message whose RSV1 bit is clear is simply not compressed (RFC 7692,
7.2.3.1), and `websockets` keeps no sending state that a whole frame could disturb."""

from __future__ import annotations

import struct
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["DIRECT_WRITE", "WebSocketLane", "direct_writer", "text_frame"]

DIRECT_WRITE = "gateway.websocket.direct_write"
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
    def write(payload: bytes) -> bool:
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

    return write


def direct_writer(scope: Scope) -> WriteText | None:
    writer = scope.get("extensions", {}).get(DIRECT_WRITE)
    return writer if callable(writer) else None


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
                scope.setdefault("extensions", {})[DIRECT_WRITE] = _writer(protocol)
            if scope["path"] == self.path:
                await self.handler(scope, receive, send)
                return
        await self.app(scope, receive, send)
