"""Per-request values that logs and outgoing calls need, carried in context variables."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

__all__ = [
    "REQUEST_ID_HEADER",
    "REQUEST_TIMEOUT_HEADER",
    "current_authorization",
    "current_request_id",
    "new_request_id",
    "sanitize_request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
# what the caller will still wait for the answer, in milliseconds (as Envoy's
# x-envoy-expected-rq-timeout-ms): the gateway sends it, a subgraph bounds its work by it
REQUEST_TIMEOUT_HEADER = "X-Request-Timeout-Ms"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# The caller's verified `Authorization` header, forwarded as-is to the services we call.
current_authorization: ContextVar[str | None] = ContextVar("authorization", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def sanitize_request_id(value: str | None) -> str:
    """Take the client's id when it is safe to log and echo; otherwise make one."""
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    return new_request_id()
