"""Who may call the gateway: clients, anonymous or signed in. A service token is for calls
between services (the order subgraph's to the inventory), never a client's, so every route
that runs an operation, REST or GraphQL, refuses it here."""

from __future__ import annotations

from gateway.federation.authorization import ANONYMOUS, Access
from platform_kit.auth import Principal, Role
from platform_kit.errors import Forbidden

__all__ = ["access_of", "client"]


def client(principal: Principal | None) -> Principal | None:
    """The caller as a client; Forbidden (403) for a service token."""
    if principal is not None and principal.role is Role.SERVICE:
        raise Forbidden("service tokens are for calls between services")
    return principal


def access_of(principal: Principal | None) -> Access:
    """What a client may see under @authenticated and @requiresScopes: its scopes are its
    role and the scopes its token grants (contract, GraphQL). Kept per (role, scopes), of
    which there are few: one value for every customer, made once."""
    if principal is None:
        return ANONYMOUS
    key = (principal.role, principal.scopes)
    access = _ACCESS.get(key)
    if access is None:
        access = Access.signed_in(principal.role.value, principal.scopes)
        if len(_ACCESS) < _MAX_ACCESS_KEPT:  # tokens may name any scopes: bounded
            _ACCESS[key] = access
    return access


_MAX_ACCESS_KEPT = 1024
_ACCESS: dict[tuple[Role, frozenset[str]], Access] = {}
