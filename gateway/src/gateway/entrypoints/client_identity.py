"""Whose budget a request spends: a signed-in client's by its token's `sub`, an anonymous
one's by its network address. That address is the socket's peer, unless the peer is a
trusted proxy (GATEWAY_TRUSTED_PROXIES): then it is the address the proxies forwarded,
read from the right of `X-Forwarded-For` up to the first address that is not a trusted
proxy (whatever the client wrote to the left of it is its own word, not evidence)."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

from platform_kit.auth import Principal

__all__ = ["ClientIdentity"]

Network = IPv4Network | IPv6Network


class ClientIdentity:
    def __init__(self, trusted_proxies: Iterable[Network] = ()) -> None:
        self.trusted_proxies = tuple(trusted_proxies)

    def of(self, scope: Scope, principal: Principal | None) -> str:
        """The budget's key: `sub:<sub>` or `addr:<address>`."""
        if principal is not None:
            return f"sub:{principal.sub}"
        peer = scope.get("client")
        address = str(peer[0]) if peer else "unknown"
        if self.trusted_proxies and self._trusted(address):
            address = self._forwarded(scope, address)
        return f"addr:{address}"

    def _trusted(self, address: str) -> bool:
        try:
            parsed: IPv4Address | IPv6Address = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.trusted_proxies)

    def _forwarded(self, scope: Scope, peer: str) -> str:
        hops: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                hops += [hop.strip() for hop in value.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._trusted(hop):
                return hop if _is_address(hop) else peer
            peer = hop
        return peer


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
