"""CSRF prevention at /graphql, as Apollo Router does it.

A browser sends a "simple" request (a GET, or a POST of a form or of text/plain) to any site
without asking it first (no CORS preflight), with the user's cookies; the page that made it
cannot read the answer, but the operation has run. A request that carries a header a form or a
link cannot set is not simple: the browser asks first, and our CORS policy decides. So a GET
operation, or a POST whose content type is not `application/json` or
`application/graphql-response+json`, must carry a non-empty `apollo-require-preflight` or
`x-apollo-operation-name` header, or it is refused with a 400 before its body is read.

Runs before the body's limits (platform_kit.body_limits): a form POST is refused here, with a
400 that says what to send, rather than with their 415. The GraphiQL page (a GET that asks for
HTML: http_get.wants_playground) runs nothing and is not checked."""

from __future__ import annotations

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.entrypoints.http_get import wants_playground

__all__ = ["PREFLIGHT_HEADERS", "CsrfPrevention"]

PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
_PREFLIGHTED_MEDIA = frozenset({"application/json", "application/graphql-response+json"})
_REFUSAL = orjson.dumps(
    {
        "errors": [
            {
                "message": "This operation has been blocked as a potential Cross-Site Request "
                "Forgery (CSRF). Send it as a POST with `content-type: application/json`, or "
                "add a non-empty header `apollo-require-preflight` (e.g. `true`) or "
                "`x-apollo-operation-name`.",
                "extensions": {"code": "CSRF_ERROR"},
            }
        ]
    }
)


def needs_preflight_proof(scope: Scope) -> bool:
    """The request could come from a page of another site without a CORS preflight."""
    method = scope.get("method")
    if method in ("GET", "HEAD"):
        return not wants_playground(scope)
    if method == "POST":
        content_type = Headers(scope=scope).get("content-type", "")
        return content_type.split(";")[0].strip().lower() not in _PREFLIGHTED_MEDIA
    return False  # no other method runs an operation (405)


def has_preflight_header(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS)


class CsrfPrevention:
    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == self.path
            and needs_preflight_proof(scope)
            and not has_preflight_header(scope)
        ):
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_REFUSAL)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": _REFUSAL})
            return
        await self.app(scope, receive, send)
