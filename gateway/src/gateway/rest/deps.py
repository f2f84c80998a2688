"""What the REST routes depend on, as FastAPI dependencies: the caller (identity, then role,
checked before any input is) and the gateway that runs their fixed operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.callers import client
from gateway.federation.pipeline import Gateway, RequestError
from gateway.rest.problems import RestProblem, problem_from_errors
from platform_kit.auth import Principal, Role
from platform_kit.middleware import principal_of

__all__ = ["ADMIN", "SIGNED_IN", "Operations", "Ops"]

# Declares bearer authentication in the OpenAPI document (Swagger UI's Authorize button);
# the token itself is verified by the platform's AuthMiddleware before any route runs.
BEARER = HTTPBearer(auto_error=False, description="A JWT: `make token SUB=alice ROLE=admin`")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


def _role(*roles: Role) -> Any:
    """A route's caller, checked before its body or parameters are: the contract's order is
    identity (401), then role (403), then input (422)."""

    async def require(request: Request, _: Bearer) -> None:
        principal = principal_of(request)
        if principal is None:
            raise RestProblem(401, "send Authorization: Bearer <token>", "UNAUTHENTICATED")
        if principal.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise RestProblem(403, f"this needs the role {allowed}", "FORBIDDEN")

    return Depends(require)


ADMIN = [_role(Role.ADMIN)]
SIGNED_IN = [_role(Role.CUSTOMER, Role.ADMIN)]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _client(request: Request) -> Principal | None:
    return client(principal_of(request))


class Operations:
    """The routes' fixed GraphQL operations, run in-process through the gateway's pipeline
    for a client (never a service); a GraphQL error becomes the route's problem."""

    def __init__(
        self,
        gateway: Annotated[Gateway, Depends(_gateway)],
        caller: Annotated[Principal | None, Depends(_client)],
    ) -> None:
        self.gateway = gateway
        self.caller = caller

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await self.gateway.execute(document, variables)
        except RequestError as error:
            raise problem_from_errors(error.errors) from None
        if result.get("errors"):
            raise problem_from_errors(result["errors"])
        data: dict[str, Any] = result["data"]
        return data


Ops = Annotated[Operations, Depends()]
