"""GraphQL over WebSocket at /graphql: the `graphql-transport-ws` protocol (what GraphiQL,
graphql-ws and Apollo Client speak), server side.

Identity: the `Authorization` header of the upgrade request (verified by the platform's
AuthMiddleware: a bad one is refused before the handshake), or the `Authorization` entry
of `connection_init`'s payload, which wins (browsers cannot set headers on a WebSocket).
A bad token in the payload closes the connection with 4403.

Every operation goes through the same pipeline as POST /graphql (limits, cost, the client's
budget); a subscription's answers come from a SubscriptionRun (a bounded queue). Queries
and mutations are answered with one `next` and `complete`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway.callers import access_of, client
from gateway.entrypoints.client_identity import ClientIdentity
from gateway.entrypoints.persisted_queries import Document, PersistedDocuments, Refused
from gateway.entrypoints.subscriptions import (
    EVENTS_DELIVERED,
    RECONNECT_CODE,
    SLOW_CONSUMER_CODE,
    Answer,
    SlowConsumer,
    SubscriptionRun,
    Subscriptions,
    TooManySubscriptions,
)
from gateway.entrypoints.websocket_direct import (
    direct_writer,
    protocol_keep_alive,
    trim_after_handshake,
)
from gateway.federation.pipeline import Gateway, RequestError
from platform_kit.auth import InvalidToken, Principal, bearer_token, verify_token
from platform_kit.errors import Forbidden
from platform_kit.middleware import principal_of
from platform_kit.request_context import current_authorization

__all__ = ["PROTOCOL", "GraphQLWebSocket"]

log = logging.getLogger(__name__)
PROTOCOL = "graphql-transport-ws"
TRANSPORT = "websocket"
CLOSE_SECONDS = 1.0  # a close frame is sent within this, or the connection is dropped
SLOW_CLOSE_SECONDS = 30.0  # to a slow consumer: after what it has not read yet
_DELIVERED = EVENTS_DELIVERED.labels(TRANSPORT)
PING = b'{"type":"ping"}'


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class GraphQLWebSocket:
    def __init__(
        self,
        subscriptions: Subscriptions,
        identity: ClientIdentity,
        secret: str,
        documents: PersistedDocuments | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.identity = identity
        self.secret = secret
        # the same persisted and trusted documents as POST and GET: no other way in
        self.documents = documents or PersistedDocuments()

    async def handle(self, websocket: WebSocket) -> None:
        await self.asgi(websocket.scope, websocket._receive, websocket._send)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the way in for every connection (its frame held for the connection's life: no
        # other of ours above it)
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in websocket.scope.get("subprotocols", ()):
            await websocket.close(4406, "Subprotocol not acceptable")
            return
        try:
            with self.subscriptions.connection():
                await websocket.accept(PROTOCOL)
                trim_after_handshake(websocket.scope)
                await _Connection(self, websocket).serve()
        except TooManySubscriptions as over:
            await websocket.close(1013, str(over))  # Try Again Later


class _Connection:
    __slots__ = (
        "acknowledged",
        "authorization",
        "caller",
        "ending",
        "endpoint",
        "limits",
        "principal",
        "running",
        "send_lock",
        "task",
        "websocket",
        "write_now",
    )

    # What a connection holds while it waits is most of what an open subscription costs
    # (goal: under 20 KB each): the connection's own task reading, one per operation, and
    # for the rest callbacks, not a task each waiting on an event.
    def __init__(self, endpoint: GraphQLWebSocket, websocket: WebSocket) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self.limits = endpoint.subscriptions.limits
        self.send_lock = asyncio.Lock()
        self.principal: Principal | None = principal_of(websocket.scope)
        # read from the scope, not through Starlette's `headers` (a cached copy of them
        # the connection would hold for its life)
        self.authorization: str | None = _header(websocket.scope, b"authorization")
        self.caller = ""
        self.acknowledged = False
        # operations running: a task each while it is prepared (a query's: until it is
        # answered), then, for a subscription, its _Streaming
        self.running: dict[str, asyncio.Task[None] | _Streaming] = {}
        # why the connection is ended from outside its reading (shutdown, a slow
        # consumer): set once, and the connection's task (which reads) cancelled
        self.ending: _Close | None = None
        self.task: asyncio.Task[Any] | None = None
        # frames written at once from the event's task (websocket_direct), when the server
        # offers it
        self.write_now = direct_writer(websocket.scope)

    def end(self, close: _Close) -> None:
        if self.ending is None:
            self.ending = close
            if self.task is not None:
                self.task.cancel()

    def _restart(self) -> None:
        self.end(_Close(RECONNECT_CODE, "the gateway is restarting: reconnect"))

    async def serve(self) -> None:
        # the connection's own task reads its messages (no reader task besides it: one
        # task less held per open connection); an end from outside cancels the read
        self.task = asyncio.current_task()
        subscriptions = self.endpoint.subscriptions
        subscriptions.on_shutdown(self._restart)
        close: _Close | None = None
        close_within = CLOSE_SECONDS
        try:
            await self._read()
        except asyncio.CancelledError:
            if self.ending is None:
                raise  # cancelled by the server, not ended here
            assert self.task is not None
            self.task.uncancel()
            close = self.ending
            if close.code == SLOW_CONSUMER_CODE:
                # the close frame waits behind what the client has not read yet
                close_within = SLOW_CLOSE_SECONDS
        except _Close as error:  # the client broke the protocol
            close = error
        except WebSocketDisconnect:  # the client left
            pass
        except Exception as error:
            log.error("WebSocket connection failed", exc_info=error)
            close = _Close(4500, "internal error")
        finally:
            # from here on an end() cancels nothing: the connection is closing anyway
            self.ending = self.ending or _Close(RECONNECT_CODE, "closing")
            subscriptions.no_shutdown(self._restart)
            subscriptions.no_keep_alive(self._ping)
            tasks = []
            for running in tuple(self.running.values()):
                task = running.cancel() if isinstance(running, _Streaming) else running
                if isinstance(running, asyncio.Task):
                    running.cancel()
                if task is not None:
                    tasks.append(task)
            self.running.clear()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if close is not None and self.websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.websocket.close(close.code, close.reason), close_within)

    async def _read(self) -> None:
        try:
            first = await asyncio.wait_for(
                self.websocket.receive_text(), self.limits.init_timeout_seconds
            )
        except TimeoutError:
            raise _Close(4408, "Connection initialisation timeout") from None
        await self._handle(first)
        while True:
            await self._handle(await self.websocket.receive_text())

    async def _handle(self, text: str) -> None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Close(4400, "Invalid message: not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message: no type")
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            running = self.running.pop(str(message.get("id")), None)
            if running is not None:
                running.cancel()
        else:
            raise _Close(4400, f"Invalid message type {kind!r}")

    async def _init(self, payload: Any) -> None:
        if self.acknowledged:
            raise _Close(4429, "Too many initialisation requests")
        if payload is not None and not isinstance(payload, dict):
            raise _Close(4400, "connection_init payload must be an object")
        given = _authorization_in(payload or {})
        if given is not None:
            try:
                token = bearer_token(given)
                self.principal = verify_token(token, self.endpoint.secret) if token else None
            except InvalidToken as invalid:
                raise _Close(4403, f"Forbidden: {invalid.reason}") from None
            self.authorization = given if self.principal else None
        try:
            client(self.principal)
        except Forbidden as forbidden:
            raise _Close(4403, f"Forbidden: {forbidden}") from None
        self.caller = self.endpoint.identity.of(self.websocket.scope, self.principal)
        # nothing reads the upgrade request's headers from here on: not kept for the
        # connection's life (1.3 KB of a connection's memory, by tracemalloc)
        self.websocket.scope["headers"] = []
        self.acknowledged = True
        await self._send({"type": "connection_ack"})
        # pinged from now on (by the process's one keep-alive timer): never before the ack,
        # which clients expect as the first message
        self.endpoint.subscriptions.keep_alive(self._ping)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            raise _Close(4401, "Unauthorized")
        operation_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            raise _Close(4400, "subscribe needs an id and a payload")
        if operation_id in self.running:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        variables, operation_name = payload.get("variables"), payload.get("operationName")
        if (variables is not None and not isinstance(variables, dict)) or (
            operation_name is not None and not isinstance(operation_name, str)
        ):
            raise _Close(4400, "subscribe payload: variables object, operationName string")
        try:
            document = self.endpoint.documents.resolve(payload)
        except Refused as refused:
            await self._send({"type": "error", "id": operation_id, "payload": refused.errors()})
            return
        if len(self.running) >= self.limits.max_per_connection:
            await self._error(
                operation_id,
                f"at most {self.limits.max_per_connection} operations on one connection",
            )
            return
        self.running[operation_id] = asyncio.create_task(
            self._operation(operation_id, document, variables, operation_name)
        )

    async def _operation(
        self,
        operation_id: str,
        document: Document,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> None:
        # the connection's identity (connection_init's may differ from the upgrade's) for
        # every subgraph call of this operation (its own task: its own context)
        current_authorization.set(self.authorization)
        # read once: a supergraph reload does not move a running subscription
        gateway: Gateway = self.websocket.app.state.gateway
        try:
            prepared = await gateway.prepare_for(document.text, operation_name, self.caller)
            self.endpoint.documents.validated(document)
            admitted = gateway.admit(prepared, variables, self.caller, access_of(self.principal))
        except RequestError as error:  # RateLimited and GatewayBusy included
            await self._send({"type": "error", "id": operation_id, "payload": error.errors})
            self.running.pop(operation_id, None)
            return
        try:
            if not prepared.is_subscription:
                result = await gateway.run(prepared, admitted, variables, operation_name)
                await self._next(operation_id, result)
            else:
                held = self.endpoint.subscriptions.subscription(self.caller, TRANSPORT)
                held.__enter__()
                try:
                    self._stream(gateway, operation_id, prepared, admitted, variables, held)
                except BaseException:
                    held.__exit__(None, None, None)
                    raise
                return  # streaming on: this task's work is done (see _Streaming)
        except TooManySubscriptions as over:
            await self._error(operation_id, str(over))
            self.running.pop(operation_id, None)
            return
        except RequestError as error:
            await self._next(operation_id, {"data": None, "errors": error.errors})
        if self.running.pop(operation_id, None) is not None:
            await self._send({"type": "complete", "id": operation_id})

    def _stream(
        self,
        gateway: Gateway,
        operation_id: str,
        prepared: Any,
        admitted: Any,
        variables: dict[str, Any] | None,
        held: Any,
    ) -> None:
        """The subscription open, in place of the operation's task (see _Streaming)."""
        # a `next` message is this prefix, the answer's JSON (encoded once for every
        # subscriber of its topic) and a brace
        prefix = b'{"type":"next","id":' + orjson.dumps(operation_id) + b',"payload":'
        streaming = _Streaming(self, operation_id, prefix, held)
        streaming.run = SubscriptionRun(
            gateway,
            prepared,
            admitted,
            variables,
            None,
            authorization=self.authorization,
            queue_size=self.limits.queue_size,
            shared_fields=self.limits.shared_fields,
            deliver=streaming.deliver if self.write_now is not None else None,
            on_queued=streaming.queued,
        )
        self.running[operation_id] = streaming

    def _ping(self) -> None:
        if self.ending is not None:
            return
        protocol_ping = protocol_keep_alive(self.websocket.scope)
        if protocol_ping is not None:
            protocol_ping()
        if self.write_now is not None and self.write_now(PING):
            return
        task = asyncio.ensure_future(self._send_bytes(PING))
        task.add_done_callback(_ignore_failure)

    async def _next(self, operation_id: str, result: dict[str, Any]) -> None:
        await self._send({"type": "next", "id": operation_id, "payload": result})

    async def _error(self, operation_id: str, message: str) -> None:
        errors = [{"message": message, "extensions": {"code": "RATE_LIMITED"}}]
        await self._send({"type": "error", "id": operation_id, "payload": errors})

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_bytes(orjson.dumps(message))

    async def _send_bytes(self, text: bytes) -> None:
        async with self.send_lock:
            # JSON bytes are UTF-8: sent as a text frame's payload
            await self.websocket.send({"type": "websocket.send", "text": text.decode()})


class _Streaming:
    """One open subscription of a connection, without a task of its own while it waits
    (a task and its frames, held for the subscription's life, were 1.5 KB of each open
    subscription's memory): its topic writes each answer straight to the socket
    (`deliver`), and only when one has to wait (the socket's buffer is full) or the
    stream ends is a task started (`queued`) that sends what waits, then ends."""

    __slots__ = ("connection", "drainer", "held", "operation_id", "prefix", "run")

    def __init__(
        self, connection: _Connection, operation_id: str, prefix: bytes, held: Any
    ) -> None:
        self.connection = connection
        self.operation_id = operation_id
        self.prefix = prefix
        self.held = held  # the per-client count, given back when the subscription ends
        self.run: SubscriptionRun | None = None
        self.drainer: asyncio.Task[None] | None = None

    def deliver(self, answer: Answer) -> bool:
        write = self.connection.write_now
        if write is not None and write(self.prefix + answer.json + b"}"):
            _DELIVERED.inc()
            return True
        return False

    def queued(self) -> None:
        if self.drainer is None:
            self.drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        run, connection = self.run, self.connection
        assert run is not None
        try:
            while run.pending:
                try:
                    answer = await run.next_answer()
                except StopAsyncIteration:  # the stream ended (its last answer was sent)
                    if connection.running.get(self.operation_id) is self:
                        del connection.running[self.operation_id]
                        self.close()
                        await connection._send({"type": "complete", "id": self.operation_id})
                    return
                await connection._send_bytes(self.prefix + answer.json + b"}")
                _DELIVERED.inc()
                del answer
            run.sent()  # nothing waits: direct deliveries may go on
        except SlowConsumer:
            # the whole connection is behind: what it would be sent next is stale
            if connection.running.get(self.operation_id) is self:
                del connection.running[self.operation_id]
            self.close()
            connection.end(_Close(SLOW_CONSUMER_CODE, "slow consumer: events were dropped"))
        finally:
            self.drainer = None

    def close(self) -> None:
        """Ends it (the client completed it, the connection ended, or the stream did)."""
        held, self.held = self.held, None
        if held is not None:
            held.__exit__(None, None, None)
            if self.run is not None:
                self.run.close()

    def cancel(self) -> asyncio.Task[None] | None:
        """Closes it; the task still sending, if any, cancelled (to be awaited)."""
        self.close()
        drainer = self.drainer
        if drainer is not None and drainer is not asyncio.current_task():
            drainer.cancel()
            return drainer
        return None


def _ignore_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # a ping to a connection going away: its reader sees the end


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _authorization_in(payload: dict[str, Any]) -> str | None:
    for name in ("Authorization", "authorization"):
        value = payload.get(name)
        if isinstance(value, str):
            return value
    headers = payload.get("headers")
    if isinstance(headers, dict):
        return _authorization_in({k: v for k, v in headers.items() if k != "headers"})
    return None
