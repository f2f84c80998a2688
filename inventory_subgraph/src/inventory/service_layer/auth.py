"""Who may do what in the inventory (contract, Identity)."""

from __future__ import annotations

from platform_kit.auth import Principal, Role
from platform_kit.errors import Forbidden, Unauthenticated

__all__ = ["require_admin", "require_service"]


def require_role(principal: Principal | None, role: Role) -> Principal:
    if principal is None:
        raise Unauthenticated()
    if principal.role is not role:
        raise Forbidden(f"this operation needs the {role.value} role")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    return require_role(principal, Role.ADMIN)


def require_service(principal: Principal | None) -> Principal:
    return require_role(principal, Role.SERVICE)
