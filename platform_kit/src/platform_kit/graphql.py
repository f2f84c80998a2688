"""GraphQL pieces both subgraphs share, so the composed schema sees one definition of each.

Needs the kit's `graphql` extra (Strawberry): only the subgraphs install it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NewType, Protocol, Self, TypeVar

import strawberry
from fastapi import APIRouter, FastAPI
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Cost, ListSize
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import ExecutionContext, Info

from platform_kit import paging
from platform_kit.app import FASTAPI_TELEMETRY, install_platform
from platform_kit.auth import Principal
from platform_kit.body_limits import SUBGRAPH_MAX_BODY_BYTES
from platform_kit.casing import camel_keys
from platform_kit.database_turns import DatabaseTurns
from platform_kit.deadline import DatabaseDeadline
from platform_kit.errors import Classifier, ErrorCode
from platform_kit.health import ReadinessCheck
from platform_kit.known_documents import KnownDocuments, ReuseKnownDocuments
from platform_kit.logging import configure_logging
from platform_kit.maintenance import Upkeep
from platform_kit.middleware import principal_of
from platform_kit.money import format_money
from platform_kit.settings import ServiceSettings
from platform_kit.stream_positions import POSITIONS, REQUESTED, RESUME_EXTENSION, Position

__all__ = [
    "FEDERATION_VERSION",
    "TEXT_FILTER_COST",
    "TOTAL_COST",
    "Money",
    "Page",
    "ServiceContext",
    "Services",
    "SubgraphSchema",
    "batch_loader",
    "coded_stream",
    "error_translation",
    "paged",
    "subgraph_app",
    "values_of",
]

T = TypeVar("T")

# Demand control (IBM's cost specification, as Apollo Router reads it from the supergraph):
# the weight of work a database really does for one field, against 1 for each object the
# gateway returns. A count scans every match of a listing's filter (280 ms at 20k
# products against 0.7 ms for a page), a text filter scans every name: each weighs as much
# as a page of 50 products.
TOTAL_COST = 50
TEXT_FILTER_COST = 50
FEDERATION_VERSION = "2.9"  # the first with @cost and @listSize


def paged(*, slicing: str = "limit") -> ListSize:
    """A listing's size for demand control: its page (`items`) holds `limit` items."""
    # Strawberry's stubs ask for every argument; one left out is left out of the SDL
    return ListSize(  # type: ignore[call-arg]
        slicing_arguments=[slicing],
        sized_fields=["items"],
        require_one_slicing_argument=False,
    )


def _as_sent(value: Any) -> Any:
    """A Money input as the client sent it, checked by the use case (platform_kit.money's
    parse_money, through the domain's rules) and not here: a scalar refused while GraphQL
    coerces the arguments fails the whole request before any resolver runs, so an anonymous
    caller would learn that the amount is wrong before learning that it may not write."""
    return value


if TYPE_CHECKING:
    Money = Decimal
else:
    Money = strawberry.scalar(
        NewType("Money", Decimal),
        name="Money",
        description='An exact amount of money: a decimal string with two decimals, e.g. "19.99".',
        serialize=format_money,
        parse_value=_as_sent,
    )


def values_of(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass (a domain object, a Strawberry input) by name, so a GraphQL
    type and the domain map onto each other by their names; a partial input's fields left
    out (UNSET) are left out."""
    values = {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}
    return {name: value for name, value in values.items() if value is not strawberry.UNSET}


@strawberry.type
class Page(paging.Page[T]):
    """The kit's page as a GraphQL type: `Page[ProductType]` is the SDL type `ProductPage`."""

    # a count over the whole filtered listing: the database scans every match (demand
    # control reads the weight from the supergraph, as Apollo Router's does)
    total: int = strawberry.field(directives=[Cost(weight=TOTAL_COST)])

    @classmethod
    def from_domain(cls, page: paging.Page[Any], item: Callable[[Any], T]) -> Self:
        """`page` with each item made a GraphQL type by `item`."""
        return cls(**{**values_of(page), "items": [item(found) for found in page.items]})


_log = logging.getLogger("graphql.errors")


def error_translation(classify: Classifier) -> type[SchemaExtension]:
    """A schema extension giving every error an `extensions.code` from the service's own
    `classify` (its one mapping of domain errors) and its details in camelCase, and hiding
    unexpected internals."""

    def translate(error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        extra: dict[str, Any] = {}
        # Errors of the request itself (syntax, validation, variables) have no path.
        if original is None or error.path is None:
            code, message = ErrorCode.BAD_USER_INPUT, error.message
        else:
            code, message, details = classify(original)
            extra = camel_keys(details)
            if code is ErrorCode.INTERNAL_SERVER_ERROR:
                _log.error("unexpected error in resolver", exc_info=original)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions={**(error.extensions or {}), "code": code.value, **extra},
        )

    class TranslateErrors(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            result = self.execution_context.result
            if result is not None and result.errors:
                result.errors = [translate(error) for error in result.errors]

    return TranslateErrors


async def coded_stream(classify: Classifier, events: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """A subscription's events with its errors coded by the service's `classify`: an error
    raised while a subscription streams reaches no schema extension (error_translation)."""
    try:
        async for event in events:
            yield event
    except Exception as error:
        code, message, details = classify(error)
        if code is ErrorCode.INTERNAL_SERVER_ERROR:
            _log.error("unexpected error in subscription", exc_info=error)
        raise GraphQLError(
            message, extensions={"code": code.value, **camel_keys(details)}
        ) from None


# What one request may ask a subgraph, in defence behind the gateway's own limits: higher
# than the gateway's client limits, since the gateway adds aliases and `_entities` levels of
# its own, yet low enough that a request sent straight to a subgraph cannot run for minutes.
SUBGRAPH_MAX_TOKENS = 50_000
SUBGRAPH_MAX_DEPTH = 40
SUBGRAPH_MAX_ALIASES = 2_000
MAX_REPRESENTATIONS = 10_000  # entity references in one `_entities` field


class StreamPositions(SchemaExtension):
    """A subscription's positions (platform_kit.stream_positions) for its operation: the
    one asked for (`extensions.resumeToken` of the request, or of the WebSocket subscribe
    message), and each event's own position sent as its `extensions.resumeToken`. A
    consumer that loses this process subscribes again from the last one it received."""

    def on_operation(self) -> Iterator[None]:
        given = self.execution_context.operation_extensions or {}
        requested = given.get(RESUME_EXTENSION) if isinstance(given, dict) else None
        if requested is None:
            requested = REQUESTED.get()
        self.position = Position(requested if isinstance(requested, str) else None)
        token = POSITIONS.set(self.position)
        try:
            yield
        finally:
            POSITIONS.reset(token)

    def get_results(self) -> dict[str, Any]:
        position = getattr(self, "position", None)
        last = position.last if position is not None else None
        return {RESUME_EXTENSION: last} if last is not None else {}


class _PositionedTransportWS(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's graphql-transport-ws handler, with each subscribe message's
    `extensions.resumeToken` set for its operation (`REQUESTED`), which Strawberry's own
    does not pass on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # by operation id, from its subscribe message until its task starts
        self._requested: dict[str, str] = {}

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        given = payload.get("extensions") if isinstance(payload, dict) else None
        requested = given.get(RESUME_EXTENSION) if isinstance(given, dict) else None
        if isinstance(requested, str):
            self._requested[message["id"]] = requested
        await super().handle_subscribe(message)
        if message["id"] not in self.operations:  # refused: no task takes it
            self._requested.pop(message["id"], None)

    async def run_operation(self, operation: Any) -> None:
        REQUESTED.set(self._requested.pop(operation.id, None))
        await super().run_operation(operation)


class _PositionedRouter(GraphQLRouter[Any, Any]):
    graphql_transport_ws_handler_class = _PositionedTransportWS


class RootFieldsInTurn(StrawberryGraphQLCoreExecutionContext):
    """A query's root fields run one after another, as a mutation's do (the spec allows
    either for a query). Each root field is a use case with its own database work: thirty
    aliased `products { total }` in one request would otherwise put sixty operations at
    once in front of the database, and every other client's operation behind them; in turn,
    one request has one or two in flight, and the database is shared between requests."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        return super().execute_operation(True if serially is None else serially)


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema with operation limits, checked entity references, root fields
    run in turn, and no logging of expected errors as incidents (the error translation logs
    the unexpected)."""

    def __init__(self, *, extensions: Sequence[Any] = (), **kwargs: Any) -> None:
        limits: list[Callable[[], SchemaExtension]] = [
            partial(MaxTokensLimiter, max_token_count=SUBGRAPH_MAX_TOKENS),
            partial(QueryDepthLimiter, max_depth=SUBGRAPH_MAX_DEPTH),
            partial(MaxAliasesLimiter, max_alias_count=SUBGRAPH_MAX_ALIASES),
        ]
        self.known_documents = KnownDocuments()
        reuse = partial(ReuseKnownDocuments, documents=self.known_documents)
        super().__init__(
            extensions=[*limits, reuse, StreamPositions, *extensions],
            execution_context_class=RootFieldsInTurn,
            **kwargs,
        )

    # the annotations are Strawberry's own: it builds the `_entities` field from them
    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Refuses what Strawberry's own resolver would fail on with an internal error."""
        if len(representations) > MAX_REPRESENTATIONS:
            raise _bad_input(
                f"at most {MAX_REPRESENTATIONS} representations in one request",
            )
        type_map = self.schema_converter.type_map
        for index, representation in enumerate(representations):
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            if not isinstance(typename, str) or typename not in type_map:
                raise _bad_input(
                    f"representation {index} is not an object with the __typename of an entity",
                )
        return super().entities_resolver(info, representations)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})


class Services(Protocol):
    """A subgraph's composition root (its `bootstrap`): what the app starts, asks about and
    closes. The app keeps it as `app.state.services`."""

    @property
    def upkeep(self) -> Upkeep: ...

    def readiness(self) -> Mapping[str, ReadinessCheck]: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Services)


class ServiceContext(BaseContext, Generic[S]):
    """Per-request GraphQL context: the service's use cases and the caller."""

    def __init__(self, services: S, principal: Principal | None) -> None:
        super().__init__()
        self.services = services
        self.principal = principal


def batch_loader(
    get_many: Callable[[Sequence[str]], Awaitable[Mapping[str, T]]],
) -> DataLoader[str, T | None]:
    """A DataLoader answering every id of one tick with one `get_many` call (None: not found)."""

    async def load(ids: Sequence[str]) -> list[T | None]:
        found = await get_many(ids)
        return [found.get(found_id) for found_id in ids]

    return DataLoader(load_fn=load)


def subgraph_app(
    *,
    title: str,
    service: str,
    settings: ServiceSettings,
    schema: SubgraphSchema,
    bootstrap: Callable[[], S],
    context: Callable[[S, Principal | None], BaseContext],
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """A subgraph's FastAPI app: its services built in the lifespan (and their upkeep run in
    the background), its schema at /graphql, its own `routers`, and the platform's parts."""
    configure_logging(service, settings.log_level, settings.log_format)
    secret = settings.jwt_secret()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = bootstrap()
        app.state.services = services
        try:
            async with services.upkeep.in_background():
                yield
        finally:
            await services.close()

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY)

    # an HTTP request or a WebSocket (subscriptions): AuthMiddleware verified the token of
    # either before it got here
    async def context_getter(connection: HTTPConnection) -> BaseContext:
        return context(connection.app.state.services, principal_of(connection))

    app.include_router(
        _PositionedRouter(
            schema,
            context_getter=context_getter,
            # the gateway subscribes over graphql-transport-ws (README: Subscriptions)
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.subscription_max_per_connection,
        ),
        prefix="/graphql",
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        DatabaseDeadline,
        default_seconds=settings.request_timeout_seconds,
        turns=DatabaseTurns(settings.database_turns) if settings.database_turns else None,
    )
    install_platform(
        app,
        service=service,
        jwt_secret=lambda: secret,
        readiness=lambda: app.state.services.readiness(),
        max_body_bytes=SUBGRAPH_MAX_BODY_BYTES,
        admission=settings.admission_limits(),
    )
    return app
