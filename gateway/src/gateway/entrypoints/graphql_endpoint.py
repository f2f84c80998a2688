"""POST /graphql as a plain ASGI endpoint: the gateway's hot path, so it skips FastAPI's
request parsing and dependency machinery (the platform middleware still runs around it).
GET operations (http_get.py) are answered by the same `answer`; the text a request runs is
its `query` or a persisted operation it names (persisted_queries.py).

With inbound deduplication on, identical queries in flight (same document, operation name,
variables and Authorization header) run once and every caller gets the same encoded answer.
Mutations never share. Each caller is admitted on its own first (its cost taken from its
own budget), and every answer carries `extensions.cost` with the caller's own budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from gateway.callers import access_of, client
from gateway.entrypoints.client_identity import ClientIdentity
from gateway.entrypoints.event_stream import (
    COMPLETE,
    EVENT_STREAM_HEADERS,
    accepts_event_stream,
    next_frame,
    stream_events,
)
from gateway.entrypoints.http_get import MUTATION_OVER_GET
from gateway.entrypoints.multipart import IncrementalAnswer, takes_incremental
from gateway.entrypoints.persisted_queries import PersistedDocuments, Refused
from gateway.entrypoints.subscriptions import SubscriptionRun, Subscriptions, TooManySubscriptions
from gateway.federation.inflight import InflightDeduplicator
from gateway.federation.pipeline import (
    Access,
    Admitted,
    Gateway,
    GatewayBusy,
    Prepared,
    RateLimited,
    RequestError,
)
from platform_kit.body_limits import JSON_BODY
from platform_kit.middleware import principal_of

__all__ = ["GraphQLEndpoint"]

Answer = tuple[int, bytes]
Headers = list[tuple[bytes, bytes]]
_JSON_HEADERS = [(b"content-type", b"application/json")]
_UNDECODED = object()


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        deduplicate: bool,
        identity: ClientIdentity | None = None,
        documents: PersistedDocuments | None = None,
        cost_in_answers: bool = True,
    ) -> None:
        self.deduplicate = deduplicate
        # `extensions.cost` on every answer (the contract); off only where a client compares
        # whole answers byte for byte (GATEWAY_COST_IN_ANSWERS: a benchmark's checker)
        self.cost_in_answers = cost_in_answers
        self.identity = identity or ClientIdentity()
        # APQ and trusted documents (persisted_queries.py): the text a request runs
        self.documents = documents or PersistedDocuments()
        self.inflight: InflightDeduplicator[Answer] = InflightDeduplicator()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = client(principal_of(scope))  # a service token: 403 (rest/problems.py)
        # read once: a supergraph reload replaces it, and this request finishes on this one
        gateway: Gateway = scope["app"].state.gateway
        decoded = scope.get("state", {}).get(JSON_BODY, _UNDECODED)  # by RequestLimits
        if decoded is _UNDECODED:
            try:
                decoded = orjson.loads(await _body(receive))
            except orjson.JSONDecodeError:
                decoded = _UNDECODED
        headers: Headers = []
        caller = self.identity.of(scope, principal)
        access = access_of(principal)
        if accepts_event_stream(scope):
            # a subscription (or any operation) answered as Server-Sent Events
            status, payload = await self.stream(
                scope, send, gateway, decoded, caller, headers, access
            )
            if status == 0:
                return  # streamed
        else:
            answered = await self.answer(
                gateway,
                decoded,
                _authorization(scope),
                caller,
                headers,
                incremental=takes_incremental(scope),
                access=access,
            )
            if isinstance(answered, IncrementalAnswer):  # @defer, multipart/mixed
                await answered.send(send, headers)
                return
            status, payload = answered
        headers += [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def stream(
        self,
        scope: Scope,
        send: Send,
        gateway: Gateway,
        body: Any,
        caller: str,
        headers: Headers,
        access: Access,
    ) -> Answer:
        """As Server-Sent Events; (0, b"") once streamed, else the answer refusing it."""
        operation = await self._admitted(gateway, body, caller, headers, access)
        if not isinstance(operation, _Operation):
            return operation  # refused
        prepared, admitted = operation.prepared, operation.admitted
        variables, operation_name = operation.variables, operation.operation_name
        if not prepared.is_subscription:
            try:
                result = await gateway.run(prepared, admitted, variables, operation_name)
            except RequestError as error:
                return 400, orjson.dumps({"errors": error.errors})
            await _single(scope, send, result)
            return 0, b""
        subscriptions: Subscriptions = scope["app"].state.subscriptions
        authorization = _authorization(scope)
        try:
            with subscriptions.connection(), subscriptions.subscription(caller, "sse"):
                run = SubscriptionRun(
                    gateway,
                    prepared,
                    admitted,
                    variables,
                    operation_name,
                    authorization=authorization.decode("latin-1") if authorization else None,
                    queue_size=subscriptions.limits.queue_size,
                    shared_fields=subscriptions.limits.shared_fields,
                )
                await stream_events(scope, send, run, subscriptions)
        except TooManySubscriptions as over:
            headers.append((b"retry-after", b"1"))
            return 429, orjson.dumps(
                {"errors": [{"message": str(over), "extensions": {"code": "RATE_LIMITED"}}]}
            )
        return 0, b""

    async def answer(
        self,
        gateway: Gateway,
        body: Any,
        authorization: bytes | None,
        caller: str,
        headers: Headers,
        method: str = "POST",
        incremental: bool = False,
        *,
        access: Access,  # what the caller may see: required, so no path forgets it
    ) -> Answer | IncrementalAnswer:
        operation = await self._admitted(gateway, body, caller, headers, access, method)
        if not isinstance(operation, _Operation):
            return operation  # refused
        prepared, admitted = operation.prepared, operation.admitted
        query, variables = operation.query, operation.variables
        operation_name = operation.operation_name
        if prepared.is_subscription:
            return _bad_request(
                "a subscription is served over WebSocket (graphql-transport-ws) or as "
                "Server-Sent Events (Accept: text/event-stream)"
            )
        if incremental and prepared.defers:  # never shared: each caller reads its own parts
            payloads = gateway.run_incremental(prepared, admitted, variables, operation_name)
            extensions = {"cost": admitted.extension()} if self.cost_in_answers else {}
            return IncrementalAnswer(payloads, extensions)
        if self.deduplicate and prepared.is_query:
            variables_key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
            # the Gateway too: after a reload, an answer from the old schema is not shared
            key = (gateway, query, operation_name, variables_key, authorization)
            status, shared = await self.inflight.run(
                key, lambda: _run(gateway, prepared, admitted, variables, operation_name)
            )
            return status, _with_cost(shared, admitted) if self.cost_in_answers else shared
        return await _run(
            gateway, prepared, admitted, variables, operation_name, own=self.cost_in_answers
        )

    async def _admitted(
        self,
        gateway: Gateway,
        body: Any,
        caller: str,
        headers: Headers,
        access: Access,
        method: str = "POST",
    ) -> _Operation | Answer:
        """The request's operation (its text, or the persisted document it names), prepared
        and admitted; or the answer refusing it. Every way in (POST, GET, SSE) comes here."""
        if body is _UNDECODED:
            return _bad_request("the body is not valid JSON")
        if not isinstance(body, dict):
            return _bad_request("expected a JSON object with a `query` string")
        try:
            document = self.documents.resolve(body)
        except Refused as refused:
            headers += refused.headers
            return refused.status, refused.payload()
        variables = body.get("variables")
        operation_name = body.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return _bad_request("`variables` must be an object")
        if operation_name is not None and not isinstance(operation_name, str):
            return _bad_request("`operationName` must be a string")
        try:
            prepared = await gateway.prepare_for(document.text, operation_name, caller)
            self.documents.validated(document)  # an APQ registration is kept once it validated
            if method != "POST" and not prepared.is_query:  # GET must be safe (http_get.py)
                headers.append((b"allow", b"POST"))
                return 405, MUTATION_OVER_GET
            admitted = gateway.admit(prepared, variables, caller, access)
        except RequestError as error:
            return await _refused(gateway, error, headers)
        return _Operation(document.text, variables, operation_name, prepared, admitted)


@dataclass(frozen=True, slots=True)
class _Operation:
    """A request's operation, prepared and admitted: ready to run."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    prepared: Prepared
    admitted: Admitted


async def _refused(gateway: Gateway, error: RequestError, headers: Headers) -> Answer:
    """The answer to a request refused before it runs: over budget 429 and the gateway's
    share for new documents used up 503, both held a moment (Gateway.hold_refusal) with
    Retry-After; anything else 400."""
    if isinstance(error, RateLimited):
        await gateway.hold_refusal(error.retry_after)
        headers.append((b"retry-after", str(error.retry_after).encode()))
        return 429, orjson.dumps({"errors": error.errors, "extensions": {"cost": error.cost}})
    if isinstance(error, GatewayBusy):
        await gateway.hold_refusal(error.retry_after)
        headers.append((b"retry-after", str(error.retry_after).encode()))
        return 503, orjson.dumps({"errors": error.errors})
    return 400, orjson.dumps({"errors": error.errors})


async def _run(
    gateway: Gateway,
    prepared: Prepared,
    admitted: Admitted,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    own: bool = False,
) -> Answer:
    """The answer without its `extensions` (which are the caller's own: _with_cost), or
    with them when it is not shared and they are shown (`own`): encoded once, which matters
    for an answer of megabytes."""
    try:
        result = await gateway.run(prepared, admitted, variables, operation_name, encoded=True)
        status = 200
    except RequestError as error:
        result, status = {"errors": error.errors}, 400
    if own:
        result["extensions"] = {"cost": admitted.extension()}
    return status, orjson.dumps(result)


async def _single(scope: Scope, send: Send, result: dict[str, Any]) -> None:
    """A query or mutation asked for as an event stream: one `next`, then `complete`."""
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM_HEADERS})
    await send({"type": "http.response.body", "body": next_frame(result) + COMPLETE})


def _with_cost(payload: bytes, admitted: Admitted) -> bytes:
    """The encoded answer (an object, no `extensions` of its own) with `extensions.cost`
    added: spliced before its closing brace, so a shared answer is encoded once."""
    extensions = orjson.dumps({"cost": admitted.extension()})
    # one copy of a payload that may be megabytes (slicing and `+` would make two)
    return b"".join((memoryview(payload)[:-1], b',"extensions":', extensions, b"}"))


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None


def _bad_request(message: str) -> Answer:
    return 400, orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    )
