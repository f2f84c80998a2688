"""The inventory subgraph's schema (Federation v2). Resolvers only translate: GraphQL inputs
to domain values, use-case results to GraphQL types. Errors get their codes in
entrypoints/errors.py."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.federation.schema_directives import RequiresScopes

from inventory.domain.listing import ProductFilter
from inventory.entrypoints.errors import TranslateErrors, classify
from inventory.entrypoints.graphql.context import Info
from inventory.entrypoints.graphql.types import (
    CreateProductInput,
    ProductFilterInput,
    ProductPage,
    ProductSort,
    ProductType,
    UpdateProductInput,
)
from platform_kit.graphql import FEDERATION_VERSION, SubgraphSchema, coded_stream, paged, values_of

__all__ = ["schema"]


@strawberry.type
class Query:
    @strawberry.field(description="A product by id; null when unknown or deleted.")
    async def product(self, info: Info, id: strawberry.ID) -> ProductType | None:
        product = await info.context.product_loader.load(str(id))
        return ProductType.from_domain(product) if product else None

    @strawberry.field(description="A page of products, filtered and sorted.", directives=[paged()])
    async def products(
        self,
        info: Info,
        filter: ProductFilterInput | None = None,
        sort: ProductSort = ProductSort.CREATED_AT_DESC,
        limit: int = 20,
        offset: int | None = None,
        cursor: str | None = None,
    ) -> ProductPage:
        product_filter = ProductFilter.create(**values_of(filter or ProductFilterInput()))
        page = await info.context.services.products.list(
            product_filter, sort.to_domain(), limit=limit, offset=offset, cursor=cursor
        )
        return ProductPage.from_domain(page, ProductType.from_domain)


# Product writes need the admin scope (a caller's role is one of its scopes): the gateway
# refuses them before planning; the use cases check again.
ADMIN_ONLY = RequiresScopes(scopes=[["admin"]])


@strawberry.type
class Mutation:
    """Results are nullable: one failed field of a mutation is null with its error, and the
    fields that succeeded keep their data."""

    @strawberry.mutation(description="Create a product (admin).", directives=[ADMIN_ONLY])
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductType | None:
        product = await info.context.services.products.create(
            info.context.principal, values_of(input)
        )
        return ProductType.from_domain(product)

    @strawberry.mutation(
        description="Change some fields of a product (admin); with expectedVersion, only if "
        "the product is still at that version (else PRECONDITION_FAILED).",
        directives=[ADMIN_ONLY],
    )
    async def update_product(
        self,
        info: Info,
        id: strawberry.ID,
        input: UpdateProductInput,
        expected_version: int | None = None,
    ) -> ProductType | None:
        product = await info.context.services.products.update(
            info.context.principal, str(id), values_of(input), expected_version
        )
        return ProductType.from_domain(product)

    @strawberry.mutation(
        description="Add delta (negative: remove) to a product's stock in one atomic step "
        "(admin): a restock that never loses or re-adds an order's units.",
        directives=[ADMIN_ONLY],
    )
    async def adjust_stock(self, info: Info, id: strawberry.ID, delta: int) -> ProductType | None:
        product = await info.context.services.products.adjust_stock(
            info.context.principal, str(id), delta
        )
        return ProductType.from_domain(product)

    @strawberry.mutation(
        description="Delete a product (admin). Orders keep their copy.", directives=[ADMIN_ONLY]
    )
    async def delete_product(self, info: Info, id: strawberry.ID) -> bool | None:
        await info.context.services.products.delete(info.context.principal, str(id))
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="A product on every change of it (price, stock, name, deletion); id "
        "narrows to one."
    )
    async def product_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[ProductType, None]:
        events = info.context.services.product_events
        async for product in coded_stream(
            classify, events.watch(info.context.principal, str(id) if id else None)
        ):
            yield ProductType.from_domain(product)


schema = SubgraphSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[ProductType],
    extensions=[TranslateErrors],
    federation_version=FEDERATION_VERSION,
)
