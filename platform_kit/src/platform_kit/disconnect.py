"""Work stops when nobody waits: a request whose client goes away is cancelled (contract,
Capacity).

uvicorn tells an app that its client left only through `receive()` (an `http.disconnect`
message), and only to an app that asks; a handler busy with its work never does. So the
request runs as its own task while this middleware listens on `receive()` for it: the body
is passed on to the handler as it asks for it (read ahead by at most `READ_AHEAD_BYTES`, so
streaming and back-pressure behave, and a handler that never reads a small body is still
watched), and once the body is read the listener waits for the disconnect and cancels the
handler's task. A request whose answer is complete is not cancelled (what it does after its
answer goes on).
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ABANDONED", "ABANDONED_REQUESTS", "CancelOnDisconnect"]

log = logging.getLogger(__name__)

# where a request cancelled because its client left is marked, in its scope["state"]
ABANDONED = "abandoned"
ABANDONED_REQUESTS = Counter(
    "http_requests_abandoned_total",
    "Requests cancelled because their client went away before the answer",
    ["service"],
)
_DISCONNECT: Message = {"type": "http.disconnect"}
READ_AHEAD_BYTES = 64 * 1024


class _Listener:
    """The one reader of the server's `receive`: hands the handler what it asks for and
    cancels it on a disconnect."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.body_read = False
        self.wanted = asyncio.Event()
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.queued_bytes = 0
        self.disconnected = False
        self.answered = False

    async def listen(self, handler: asyncio.Task[None]) -> None:
        while True:
            while not self.body_read and self.queued_bytes >= READ_AHEAD_BYTES:
                await self.wanted.wait()  # the handler takes its body at its own pace
                self.wanted.clear()
            message = await self.receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self.body_read = True
            self.queued_bytes += len(message.get("body", b""))
            self.messages.put_nowait(message)
            if message["type"] == "http.disconnect":
                self.disconnected = True
                if not self.answered:
                    handler.cancel()
                return

    async def handler_receive(self) -> Message:
        if self.disconnected and self.messages.empty():
            return _DISCONNECT
        message = await self.messages.get()
        self.queued_bytes -= len(message.get("body", b""))
        self.wanted.set()
        return message


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.abandoned = ABANDONED_REQUESTS.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        listener = _Listener(receive)

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                listener.answered = True
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, listener.handler_receive, send_and_note))
        listening = asyncio.ensure_future(listener.listen(handler))
        try:
            await handler
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not listener.disconnected or (current is not None and current.cancelling()):
                raise  # cancelled from outside (shutdown): not ours to swallow
            self.abandoned.inc()
            scope.setdefault("state", {})[ABANDONED] = True
            log.info("client left: request cancelled", extra={"path": scope["path"]})
        finally:
            listening.cancel()
            if not handler.done():
                handler.cancel()
