"""Incremental delivery over HTTP (@defer), as Apollo Router sends it: a
`multipart/mixed; boundary="-"; deferSpec=20220824` response whose parts are each one JSON
payload (`content-type: application/json; charset=utf-8`), the close delimiter `-----`:

    \r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{"data":...,"hasNext":true}
    \r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{"incremental":...}
    \r\n-----\r\n

Who gets it: a client whose `Accept` names `multipart/mixed` with `deferSpec=20220824`
(Apollo Client, Apollo Kotlin and iOS), or `multipart/mixed` with no spec at all (GraphiQL's
fetcher, graphql-helix and Yoga clients, which read the same parts). A `multipart/mixed`
for another protocol (`subscriptionSpec`, another `deferSpec`) or at q=0 does not count.
An answer that defers nothing goes out as plain JSON even then."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Scope, Send

from gateway.federation.pipeline import RequestError

__all__ = ["CONTENT_TYPE", "IncrementalAnswer", "takes_incremental"]

DEFER_SPEC = "20220824"
CONTENT_TYPE = b'multipart/mixed; boundary="-"; deferSpec=20220824'
# Each part is sent followed by the next delimiter, as Apollo Router does: a client's parser
# then has the whole part at once instead of waiting for the next one to see where it ends.
_OPEN = b"\r\n---"
_PART = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = b"\r\n---"
_CLOSE = b"--\r\n"  # after the last delimiter: `-----`, the close delimiter


def takes_incremental(scope: Scope) -> bool:
    """Whether the request's `Accept` takes @defer's multipart answers."""
    for name, value in scope["headers"]:
        if name == b"accept" and any(
            _is_defer_range(r) for r in value.decode("latin-1").split(",")
        ):
            return True
    return False


def _is_defer_range(media_range: str) -> bool:
    media_type, *parameters = (part.strip() for part in media_range.split(";"))
    if media_type.lower() != "multipart/mixed":
        return False
    named: dict[str, str] = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        named[name.strip().lower()] = value.strip().strip('"')
    if "subscriptionspec" in named or named.get("q", "1").rstrip("0.") == "":
        return False
    # the contract's rule, as Apollo Router's: only a client naming the spec it reads gets
    # parts (our GraphiQL's fetcher names it: gateway/ui/playground.js)
    return named.get("deferspec") == DEFER_SPEC


@dataclass
class IncrementalAnswer:
    """An admitted operation with @defer for a client that takes multipart: its payloads
    (Gateway.run_incremental) and the `extensions` of the first."""

    payloads: AsyncGenerator[dict[str, Any], None]
    extensions: dict[str, Any]

    async def send(self, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        try:
            try:
                first = await anext(self.payloads)
            except RequestError as error:
                await _whole(send, headers, 400, {"errors": error.errors})
                return
            if self.extensions:
                first["extensions"] = self.extensions
            if "hasNext" not in first:  # it defers nothing: the answer at once
                await _whole(send, headers, 200, first)
                return
            headers = [*headers, (b"content-type", CONTENT_TYPE), (b"cache-control", b"no-cache")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await _part(send, first, _OPEN)
            async for payload in self.payloads:
                await _part(send, payload)
            await send({"type": "http.response.body", "body": _CLOSE})
        finally:  # the client gone: the deferred parts' fetches stop
            await self.payloads.aclose()


async def _part(send: Send, payload: dict[str, Any], before: bytes = b"") -> None:
    body = before + _PART + orjson.dumps(payload) + _DELIMITER
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _whole(
    send: Send, headers: list[tuple[bytes, bytes]], status: int, answer: dict[str, Any]
) -> None:
    body = orjson.dumps(answer)
    headers = [
        *headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
