"""GraphQL types of the inventory subgraph."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Self

import strawberry
from strawberry.federation.schema_directives import Cost

from inventory.domain.listing import ProductSort as DomainSort
from inventory.domain.product import Product
from platform_kit.graphql import TEXT_FILTER_COST, Money, Page, values_of

if TYPE_CHECKING:
    from inventory.entrypoints.graphql.context import Info

__all__ = [
    "CreateProductInput",
    "ProductFilterInput",
    "ProductPage",
    "ProductSort",
    "ProductType",
    "UpdateProductInput",
]


@strawberry.federation.type(keys=["id"], name="Product")
class ProductType:
    id: strawberry.ID
    sku: str | None
    name: str
    description: str | None
    category: str | None
    price: Money
    currency: str
    stock: int
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(
        description="Grows with every change (stock moves included); give it back as "
        "updateProduct's expectedVersion to change only what you read."
    )

    @classmethod
    def from_domain(cls, product: Product) -> Self:
        return cls(**values_of(product))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        """Batched: every representation of one request is loaded with one query. A
        deleted product resolves as it was (an order still names it)."""
        product = await info.context.reference_loader.load(str(id))
        return cls.from_domain(product) if product is not None else None


ProductPage = Page[ProductType]


@strawberry.enum(name="ProductSort")
class ProductSort(Enum):
    NAME = "NAME"
    NAME_DESC = "NAME_DESC"
    PRICE = "PRICE"
    PRICE_DESC = "PRICE_DESC"
    CREATED_AT = "CREATED_AT"
    CREATED_AT_DESC = "CREATED_AT_DESC"

    def to_domain(self) -> DomainSort:
        return DomainSort[self.name]


@strawberry.input(name="ProductFilter")
class ProductFilterInput:
    q: str | None = strawberry.field(default=None, directives=[Cost(weight=TEXT_FILTER_COST)])
    category: str | None = None
    min_price: Money | None = None
    max_price: Money | None = None
    in_stock: bool | None = None


@strawberry.input
class CreateProductInput:
    name: str
    price: Money
    sku: str | None = None
    description: str | None = None
    category: str | None = None
    currency: str = "USD"
    stock: int = 0


@strawberry.input(description="Partial update: fields left out are unchanged.")
class UpdateProductInput:
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    price: Money | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    stock: int | None = strawberry.UNSET
