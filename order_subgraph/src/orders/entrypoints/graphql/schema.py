"""The order subgraph's schema (Federation v2). Resolvers only translate."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.federation.schema_directives import Authenticated

from orders.domain.order import RequestedLine
from orders.entrypoints.errors import TranslateErrors, classify
from orders.entrypoints.graphql.context import Info
from orders.entrypoints.graphql.types import (
    CreateOrderInput,
    OrderPage,
    OrderStatus,
    OrderType,
    ProductRef,
)
from platform_kit.graphql import FEDERATION_VERSION, SubgraphSchema, coded_stream, paged

__all__ = ["schema"]


@strawberry.type
class Query:
    @strawberry.field(
        description="An order of the caller's (any order for an admin); "
        "null when unknown or not visible."
    )
    async def order(self, info: Info, id: strawberry.ID) -> OrderType | None:
        order = await info.context.services.orders.get(info.context.principal, str(id))
        return OrderType.from_domain(order) if order else None

    @strawberry.field(
        description="The caller's orders, newest first (admins: everyone's, "
        "or one user's with userId).",
        directives=[paged(), Authenticated()],
    )
    async def orders(
        self,
        info: Info,
        status: OrderStatus | None = None,
        user_id: strawberry.ID | None = None,
        limit: int = 20,
        offset: int | None = None,
        cursor: str | None = None,
    ) -> OrderPage:
        page = await info.context.services.orders.page(
            info.context.principal,
            status=status.to_domain() if status else None,
            user_id=str(user_id) if user_id is not None else None,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
        return OrderPage.from_domain(page, OrderType.from_domain)


@strawberry.type
class Mutation:
    """Results are nullable: one failed field of a mutation is null with its error, and the
    fields that succeeded keep their data (the client learns every order it made)."""

    @strawberry.mutation(
        description="Order products for the caller; takes the stock of every line or of none."
    )
    async def create_order(
        self, info: Info, input: CreateOrderInput, idempotency_key: str | None = None
    ) -> OrderType | None:
        lines = [RequestedLine(str(line.product_id), line.quantity) for line in input.items]
        order = await info.context.services.orders.create(
            info.context.principal, lines, idempotency_key
        )
        return OrderType.from_domain(order)

    @strawberry.mutation(description="pending -> completed (admin) or cancelled (owner, admin).")
    async def update_order_status(
        self, info: Info, id: strawberry.ID, status: OrderStatus
    ) -> OrderType | None:
        order = await info.context.services.orders.update_status(
            info.context.principal, str(id), status.to_domain()
        )
        return OrderType.from_domain(order)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The caller's orders (an admin's: every order) on their creation and each "
        "status change; id narrows to one. Anonymous: UNAUTHENTICATED."
    )
    async def order_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[OrderType, None]:
        events = info.context.services.order_events
        async for order in coded_stream(
            classify, events.watch(info.context.principal, str(id) if id else None)
        ):
            yield OrderType.from_domain(order)


schema = SubgraphSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[OrderType, ProductRef],
    extensions=[TranslateErrors],
    federation_version=FEDERATION_VERSION,
)
