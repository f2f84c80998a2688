"""What the REST routes depend on, as FastAPI dependencies: the caller (identity, then role,
checked before any input is) and the gateway that runs their fixed operations."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, Field

from gateway.callers import access_of, client
from gateway.entrypoints.client_identity import ClientIdentity
from gateway.federation.pipeline import (
    Admitted,
    Gateway,
    GatewayBusy,
    Prepared,
    RateLimited,
    RequestError,
)
from gateway.rest.problems import RestProblem, problem_from_errors
from platform_kit.auth import Principal, Role
from platform_kit.middleware import principal_of
from platform_kit.paging import MAX_LIMIT, MAX_OFFSET

__all__ = ["ADMIN", "SIGNED_IN", "Operations", "Ops", "Paging", "on_the_loop"]

P = TypeVar("P", bound=BaseModel)
T = TypeVar("T")

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


def on_the_loop(factory: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """`factory` (a class whose instances are made from the request) as a dependency that
    FastAPI calls on the event loop. FastAPI runs any plain callable, a class too, on a worker
    thread: a hop each way that costs more than what these compute, and that waits for the
    interpreter's lock whenever another thread holds it (a new document being prepared, as
    under a flood of new documents), five of them a REST request. The parameters are the
    factory's own, annotations resolved, so FastAPI reads them as before (the OpenAPI
    document does not change)."""

    async def made(**values: Any) -> T:
        return factory(**values)

    made.__signature__ = inspect.signature(factory, eval_str=True)  # type: ignore[attr-defined]
    made.__name__ = made.__qualname__ = getattr(factory, "__name__", "dependency")
    made.__doc__ = factory.__doc__
    return made


async def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _client(request: Request) -> Principal | None:
    return client(principal_of(request))


async def _budget_key(
    request: Request, caller: Annotated[Principal | None, Depends(_client)]
) -> str:
    """Whose budget of query cost the route's operation spends (GraphQL's own rule)."""
    identity: ClientIdentity = request.app.state.client_identity
    return identity.of(request.scope, caller)


class Operations:
    """The routes' fixed GraphQL operations, run in-process through the gateway's pipeline
    for a client (never a service); a GraphQL error becomes the route's problem."""

    def __init__(
        self,
        gateway: Annotated[Gateway, Depends(_gateway)],
        caller: Annotated[Principal | None, Depends(_client)],
        budget_key: Annotated[str, Depends(_budget_key)],
    ) -> None:
        self.gateway = gateway
        self.caller = caller
        self.budget_key = budget_key

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await self.gateway.execute(
                document, variables, client=self.budget_key, access=access_of(self.caller)
            )
        except RateLimited as limited:
            await self.gateway.hold_refusal(limited.retry_after)
            raise _rate_limited(limited) from None
        except GatewayBusy as busy:  # a route's document is prepared once: rare
            await self.gateway.hold_refusal(busy.retry_after)
            raise RestProblem(
                503,
                busy.errors[0]["message"],
                "SERVICE_UNAVAILABLE",
                headers={"Retry-After": str(busy.retry_after)},
            ) from None
        except RequestError as error:
            raise problem_from_errors(error.errors) from None
        if result.get("errors"):
            raise problem_from_errors(result["errors"])
        data: dict[str, Any] = result["data"]
        return data

    def admit(self, document: str, variables: dict[str, Any]) -> tuple[Prepared, Admitted]:
        """A subscription's operation, prepared and admitted (its cost taken from the
        client's budget), for a route that streams it."""
        try:
            prepared = self.gateway.prepare(document, None)  # a route's: prepared at load
            access = access_of(self.caller)
            return prepared, self.gateway.admit(prepared, variables, self.budget_key, access)
        except RateLimited as limited:
            raise _rate_limited(limited) from None
        except RequestError as error:
            raise problem_from_errors(error.errors) from None


def _rate_limited(limited: RateLimited) -> RestProblem:
    return RestProblem(
        429,
        limited.errors[0]["message"],
        "RATE_LIMITED",
        headers={"Retry-After": str(limited.retry_after)},
        retry_after=limited.retry_after,
    )


Ops = Annotated[Operations, Depends(on_the_loop(Operations))]


def ascii_digits(value: Any) -> Any:
    """A whole number in a query string as the contract has it: ASCII digits only, not
    "0.0", "+1", "1_0" or other scripts' digits, all of which pydantic's lax int takes."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written in digits 0-9, such as 20")
    return value


# the bounds on the int, the digits checked before it (so the document keeps its minimum and
# maximum: bounds outside the validator are printed as unknown `ge`/`le` keywords)
Limit = Annotated[
    Annotated[int, Field(ge=1, le=MAX_LIMIT)],
    BeforeValidator(ascii_digits),
    Query(description=f"Page size, 1 to {MAX_LIMIT}"),
]
Offset = Annotated[
    Annotated[int, Field(ge=0, le=MAX_OFFSET)] | None,
    BeforeValidator(ascii_digits),
    Query(description="Items to skip (not with cursor)"),
]
Cursor = Annotated[str | None, Query(description="Opaque cursor from next_cursor")]


class Pages:
    """A listing's page: its parameters in, and the page out with, while more follow, its
    next page as a relative `Link` (RFC 8288; nothing of the request's Host is echoed)."""

    def __init__(
        self,
        request: Request,
        response: Response,
        limit: Limit = 20,
        offset: Offset = None,
        cursor: Cursor = None,
    ) -> None:
        self.request = request
        self.response = response
        self.limit = limit
        self.offset = offset
        self.cursor = cursor or None  # an empty cursor is no cursor

    def variables(self) -> dict[str, Any]:
        return {"limit": self.limit, "offset": self.offset, "cursor": self.cursor}

    def page(self, model: type[P], answer: dict[str, Any]) -> P:
        next_cursor = answer["nextCursor"]
        if next_cursor:
            kept = [
                (name, value)
                for name, value in self.request.query_params.multi_items()
                if name not in ("offset", "cursor")
            ]
            query = urlencode([*kept, ("cursor", next_cursor)])
            self.response.headers["Link"] = f'<{self.request.url.path}?{query}>; rel="next"'
        return model.model_validate(answer)


Paging = Annotated[Pages, Depends(on_the_loop(Pages))]
