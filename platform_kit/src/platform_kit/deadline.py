"""Every database operation of a request has a time bound: the service's own
`request_timeout_seconds`, or what the caller says it will still wait (`X-Request-Timeout-Ms`,
sent by the gateway), whichever is shorter. PyMongo's client-side operation timeout applies
it to every operation in the request: each command carries `maxTimeMS` (the rest of the
deadline), so the server stops its work too, and one that runs out raises a timeout error,
which the services map to SERVICE_UNAVAILABLE (platform_kit.mongo.DATABASE_UNAVAILABLE).

The deadline starts when the request arrives and covers its one answer; a streamed answer
(no subgraph has one today) would need a bound per event instead. With `turns`, the request's
reads also take their turns at the database (platform_kit.database_turns) as the client the
request is for, waiting no longer than the deadline.

Needs the kit's `mongo` extra (PyMongo): only the subgraphs install it."""

from __future__ import annotations

import time

import pymongo
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from platform_kit.clients import current_client
from platform_kit.database_turns import DatabaseTurns, taking_turns
from platform_kit.request_context import REQUEST_TIMEOUT_HEADER

__all__ = ["DatabaseDeadline", "request_budget"]

MIN_BUDGET_SECONDS = 0.001


def request_budget(header: str | None, default_seconds: float) -> float:
    """The seconds a request's database work may take: the caller's bound when it sends a
    shorter one than ours (a malformed one is ignored)."""
    if header is None or not header.isascii() or not header.isdigit() or len(header) > 9:
        return default_seconds
    return max(MIN_BUDGET_SECONDS, min(default_seconds, int(header) / 1000))


class DatabaseDeadline:
    def __init__(
        self, app: ASGIApp, default_seconds: float, turns: DatabaseTurns | None = None
    ) -> None:
        self.app = app
        self.default_seconds = default_seconds
        self.turns = turns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get(REQUEST_TIMEOUT_HEADER)
        budget = request_budget(header, self.default_seconds)
        with pymongo.timeout(budget):
            if self.turns is None:
                await self.app(scope, receive, send)
                return
            client = current_client.get()
            key = client.key if client is not None else ""
            with taking_turns(self.turns, key, time.monotonic() + budget):
                await self.app(scope, receive, send)
