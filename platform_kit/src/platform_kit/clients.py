"""Who a request is for, as admission control counts it: a signed-in caller by `sub`, an
anonymous one by its network address (the socket's peer).

Behind the gateway every anonymous request comes from the gateway's address, so the gateway
names the end client in `X-Client-Key` with an HMAC of it under the platform's shared secret
(`X-Client-Key-Signature`); a service takes that name only when the signature holds, so no
one calling a subgraph directly can pick the key it is counted under."""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.types import Scope

from platform_kit.middleware import principal_of

__all__ = [
    "CLIENT_KEY_HEADER",
    "CLIENT_KEY_SIGNATURE_HEADER",
    "Client",
    "client_key",
    "current_client",
    "signed_client_headers",
]

CLIENT_KEY_HEADER = "X-Client-Key"
CLIENT_KEY_SIGNATURE_HEADER = "X-Client-Key-Signature"
MAX_CLIENT_KEY_LENGTH = 256


@dataclass(slots=True)
class Client:
    """The client a request is for, and how to name it to the services the request calls
    (signed only when a call is made: most requests of a subgraph call nobody; then once
    for all of the request's calls, six for the gateway's deep queries)."""

    key: str
    secret: str
    _signed: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def headers(self) -> dict[str, str]:
        if self._signed is None:
            self._signed = signed_client_headers(self.key, self.secret)
        return self._signed


current_client: ContextVar[Client | None] = ContextVar("client", default=None)


def _signature(key: str, secret: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def client_key(scope: Scope, secret: str) -> str:
    """The key a request is counted under: a key the gateway forwarded and signed, else the
    verified caller's `sub`, else the peer's address."""
    headers = Headers(scope=scope)
    forwarded = headers.get(CLIENT_KEY_HEADER)
    if forwarded and len(forwarded) <= MAX_CLIENT_KEY_LENGTH:
        signature = headers.get(CLIENT_KEY_SIGNATURE_HEADER) or ""
        if hmac.compare_digest(signature, _signature(forwarded, secret)):
            return forwarded
    principal = principal_of(scope)
    if principal is not None:
        return f"sub:{principal.sub}"
    peer = scope.get("client")
    return f"addr:{peer[0]}" if peer else "addr:unknown"


def signed_client_headers(key: str, secret: str) -> dict[str, str]:
    return {CLIENT_KEY_HEADER: key, CLIENT_KEY_SIGNATURE_HEADER: _signature(key, secret)}
