"""Request limits for every body a service reads: JSON only (415), at most `max_bytes` (413,
counted while reading, whatever Content-Length claims), well-formed (400): strict UTF-8
without lone surrogates and at most 1,024 levels deep, so no handler behind meets a body
that its own JSON parser would take but nothing downstream can encode (a lone surrogate),
or that would exhaust the interpreter's stack (deep nesting)."""

from __future__ import annotations

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_kit.problems import problem_response

__all__ = ["JSON_BODY", "MAX_BODY_BYTES", "SUBGRAPH_MAX_BODY_BYTES", "RequestLimits"]

# where the decoded body is left in the request's scope["state"], for a handler that can
# take it instead of decoding the same bytes again
JSON_BODY = "json_body"

MAX_BODY_BYTES = 1024 * 1024  # what a client may send the gateway
# what the gateway may send a subgraph: a batch of entity representations can outgrow the
# client's own request
SUBGRAPH_MAX_BODY_BYTES = 8 * 1024 * 1024
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestLimits:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        has_body = (length is not None and length != "0") or "transfer-encoding" in headers
        if has_body and not _is_json(headers.get("content-type", "")):
            await problem_response(
                415, "send the body as application/json", slug="unsupported-media-type"
            )(scope, receive, send)
            return
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        # Bodies are small (1 MiB at most), so read them whole before the app runs: a body
        # that grows past the limit is refused however it is framed.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                scope.setdefault("state", {})[JSON_BODY] = orjson.loads(body)
            except orjson.JSONDecodeError as error:
                await problem_response(
                    400,
                    f"the body is not valid JSON: {error.msg}",
                    slug="bad-request",
                    code="BAD_REQUEST",
                )(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(
            413, f"the body is larger than {self.max_bytes} bytes", slug="content-too-large"
        )(scope, receive, send)
