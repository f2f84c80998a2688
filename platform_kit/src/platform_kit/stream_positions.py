"""A subscription's position in its source, beside its events: where a consumer asked to
start from, and the position of the last event it was given.

The change feed (platform_kit.change_feed) reads the first and writes the second; the
GraphQL transport (platform_kit.graphql) fills the first from the subscribe message's
`extensions.resumeToken` and sends the second as each event's `extensions.resumeToken`.
The positions travel beside the events, never through a use case's or the schema's types:
any subscription over a change feed resumes, none has to say so."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["POSITIONS", "REQUESTED", "RESUME_EXTENSION", "Position"]

RESUME_EXTENSION = "resumeToken"  # the name in a subscribe's and an event's `extensions`


class Position:
    """One subscription operation's positions (opaque strings the source gave)."""

    __slots__ = ("last", "resume_after")

    def __init__(self, resume_after: str | None = None) -> None:
        self.resume_after = resume_after
        self.last: str | None = None


# the operation's positions, set for the operation by the GraphQL schema extension
POSITIONS: ContextVar[Position | None] = ContextVar("stream_positions", default=None)
# the position a WebSocket subscribe message asked for, set for the operation's task by the
# transport (Strawberry's WebSocket handler does not pass a message's `extensions` on)
REQUESTED: ContextVar[str | None] = ContextVar("stream_position_requested", default=None)
