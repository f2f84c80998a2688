"""GET /graphql: queries as URL parameters (`query`, `variables`, `operationName`,
`extensions`, and `documentId` / `doc_id` for a trusted document), as the GraphQL over HTTP
draft and Apollo Router take them, or the GraphiQL page for a browser.

Which one: a request naming an operation (any of those parameters but `variables` and
`operationName`) is an operation, unless its `Accept` asks for `text/html` (a browser
following a link: it gets the page, nothing runs); one naming none is the page, unless its
`Accept` names only JSON (a client that forgot its query: a 400 that says so).

A mutation (or subscription) over GET is a 405 with `Allow: POST` and an error coded
`MUTATION_FORBIDDEN`, as Apollo Router answers it: GET must be safe, and a link or an
`<img>` can make a browser send one.

Every answer to a GET operation carries `Cache-Control: no-store`. No `@cacheControl` hints
are in the supergraph, and no answer of this gateway could be shared anyway: each carries
the caller's own budget (`extensions.cost.throttleStatus`), and most depend on the caller's
token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from gateway.callers import access_of, client
from gateway.entrypoints.multipart import IncrementalAnswer
from gateway.entrypoints.persisted_queries import NO_STORE
from platform_kit.middleware import principal_of

if TYPE_CHECKING:  # the endpoint imports this module's answers
    from gateway.entrypoints.graphql_endpoint import GraphQLEndpoint
    from gateway.federation.pipeline import Gateway

__all__ = ["MUTATION_OVER_GET", "GraphQLOverGet", "graphql_get_route", "wants_playground"]

_OPERATION_PARAMETERS = frozenset({"query", "extensions", "documentId", "doc_id"})
_PARAMETERS = _OPERATION_PARAMETERS | {"variables", "operationName"}
_JSON_PARAMETERS = frozenset({"variables", "extensions"})
_JSON_MEDIA = frozenset({"application/json", "application/graphql-response+json"})
_MAX_PARAMETERS = 16

MUTATION_OVER_GET = orjson.dumps(
    {
        "errors": [
            {
                "message": "Mutations can only be sent over HTTP POST",
                "extensions": {"code": "MUTATION_FORBIDDEN"},
            }
        ]
    }
)


def _accepted(scope: Scope) -> list[str]:
    accept = Headers(scope=scope).get("accept", "")
    return [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]


def _names_operation(scope: Scope) -> bool:
    query_string: bytes = scope.get("query_string", b"")
    if not query_string:
        return False
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    return bool(names & _OPERATION_PARAMETERS)


def wants_playground(scope: Scope) -> bool:
    """A GET /graphql that asks for the GraphiQL page rather than to run an operation."""
    accepted = _accepted(scope)
    if _names_operation(scope):
        return "text/html" in accepted
    return not accepted or not set(accepted) <= _JSON_MEDIA


def request_of(query_string: bytes) -> dict[str, Any] | str:
    """The request body a GET names in its URL, or what is wrong with it."""
    try:
        pairs = parse_qsl(
            query_string.decode(),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=_MAX_PARAMETERS,
        )
    except (UnicodeDecodeError, ValueError):
        return f"the URL's parameters are not UTF-8 or more than {_MAX_PARAMETERS}"
    body: dict[str, Any] = {}
    for name, value in pairs:
        if name not in _PARAMETERS:
            continue
        if name in body:
            return f"`{name}` is given twice"
        if name in _JSON_PARAMETERS:
            try:
                body[name] = orjson.loads(value)
            except orjson.JSONDecodeError:
                return f"`{name}` must be a JSON object"
            if not isinstance(body[name], dict):
                return f"`{name}` must be a JSON object"
        else:
            body[name] = value
    return body


class GraphQLOverGet:
    """An operation named in the URL, run by the POST endpoint's own `answer`."""

    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = client(principal_of(scope))
        gateway: Gateway = scope["app"].state.gateway
        headers: list[tuple[bytes, bytes]] = [NO_STORE]
        body = request_of(scope.get("query_string", b""))
        if isinstance(body, str):
            status, payload = 400, _bad_request(body)
        else:
            authorization = Headers(scope=scope).get("authorization")
            answered = await self.endpoint.answer(
                gateway,
                body,
                authorization.encode("latin-1") if authorization is not None else None,
                self.endpoint.identity.of(scope, principal),
                headers,
                method="GET",
                access=access_of(principal),
            )
            assert not isinstance(answered, IncrementalAnswer)  # not asked for: whole answers
            status, payload = answered
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _bad_request(message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]})


class _OperationsOverGet(Route):
    """GET /graphql when it runs an operation; the GraphiQL page's route takes the others.
    Names itself in the scope, as FastAPI's routes do, for metrics and logs."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.NONE:
            return match, child_scope
        if scope.get("method") in ("GET", "HEAD") and wants_playground(scope):
            return Match.NONE, {}
        child_scope["route"] = self
        return match, child_scope


def graphql_get_route(endpoint: GraphQLEndpoint) -> Route:
    return _OperationsOverGet(
        "/graphql", GraphQLOverGet(endpoint), methods=["GET"], include_in_schema=False
    )
