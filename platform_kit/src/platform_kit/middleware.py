"""ASGI middleware shared by every service: request id, access log and metrics, identity.

Plain ASGI rather than BaseHTTPMiddleware so streaming and context variables behave.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_kit.auth import InvalidToken, Principal, VerifiedTokens, bearer_token
from platform_kit.disconnect import ABANDONED
from platform_kit.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS
from platform_kit.problems import problem_response
from platform_kit.request_context import (
    REQUEST_ID_HEADER,
    current_authorization,
    current_request_id,
    sanitize_request_id,
)

__all__ = ["AuthMiddleware", "RequestContextMiddleware", "principal_of"]

access_log = logging.getLogger("access")
_UNLOGGED_PATHS = frozenset({"/healthz", "/metrics"})
# nginx's "client closed request": a request cancelled because its client left
CLIENT_CLOSED_REQUEST = 499


class RequestContextMiddleware:
    """Takes or makes the request id, echoes it, logs the request and records its metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # the labelled metrics of each (method, route, status), looked up once (a labels()
        # call takes a lock and builds its key); bounded, as methods are the client's word
        self._recorders: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = sanitize_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = current_request_id.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if status is None:
                status = CLIENT_CLOSED_REQUEST if scope["state"].get(ABANDONED) else 500
            elapsed = time.perf_counter() - started
            count, seconds = self._recorders_of(scope["method"], _route_template(scope), status)
            count.inc()
            seconds.observe(elapsed)
            if scope["path"] not in _UNLOGGED_PATHS:
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            current_request_id.reset(token)

    def _recorders_of(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        recorders = self._recorders.get(key)
        if recorders is None:
            recorders = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_REQUEST_SECONDS.labels(self.service, method, route),
            )
            if len(self._recorders) < _MAX_RECORDERS:
                self._recorders[key] = recorders
        return recorders


_MAX_RECORDERS = 1024


def _route_template(scope: Scope) -> str:
    """The matched route's template (low cardinality). A router mounted at a prefix with an
    empty inner path (Strawberry's GraphQLRouter) is named by its mount path."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return str(scope.get("path", "unmatched"))


class AuthMiddleware:
    """Verifies a bearer token when one is sent; a bad one is a 401 on every route.

    No token means an anonymous request: what anonymous callers may do is each use case's
    decision, not this middleware's."""

    def __init__(self, app: ASGIApp, secret: Callable[[], str]) -> None:
        self.app = app
        self.secret = secret
        self.tokens = VerifiedTokens()  # a token re-sent is not verified again until its exp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization")
        try:
            token = bearer_token(authorization)
            principal = self.tokens.verify(token, self.secret()) if token else None
        except InvalidToken as exc:
            if scope["type"] == "websocket":  # refused before the handshake: HTTP 403
                await send({"type": "websocket.close", "code": 4401, "reason": exc.reason})
                return
            response = problem_response(
                401,
                exc.reason,
                slug="unauthenticated",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                code="UNAUTHENTICATED",
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        token_var = current_authorization.set(authorization if principal else None)
        try:
            await self.app(scope, receive, send)
        finally:
            current_authorization.reset(token_var)


def principal_of(scope_or_state: Any) -> Principal | None:
    """The verified caller of a request (a Starlette `Request` or its scope)."""
    scope = getattr(scope_or_state, "scope", scope_or_state)
    principal = scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else None
