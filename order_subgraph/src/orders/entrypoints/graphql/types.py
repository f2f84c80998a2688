"""GraphQL types of the order subgraph."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Self

import strawberry
from strawberry.federation.schema_directives import Authenticated, Cost, Key, ListSize
from strawberry.federation.types import FieldSet

from orders.domain.order import Order, OrderLine
from orders.domain.order import OrderStatus as DomainStatus
from platform_kit.graphql import Money, Page

if TYPE_CHECKING:
    from orders.entrypoints.graphql.context import Info

__all__ = ["OrderItemType", "OrderPage", "OrderStatus", "OrderType", "ProductRef"]


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)], name="Product")
class ProductRef:
    """The inventory's product; the gateway resolves its fields there."""

    id: strawberry.ID


@strawberry.enum
class OrderStatus(Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @classmethod
    def from_domain(cls, status: DomainStatus) -> OrderStatus:
        return cls(status.public.value)

    def to_domain(self) -> DomainStatus:
        return DomainStatus(self.value)


# Demand control: a line is part of its order's document (reading it costs the database
# nothing more), and an order is assumed to have 10 lines: most have a few, at most 100
# (MAX_LINES). The upper bound would price a customer's page of orders with their products
# (20 x 100 references, fetched in one batch) out of reach.
ASSUMED_LINES = 10


@strawberry.type(name="OrderItem", directives=[Cost(weight=0)])
class OrderItemType:
    product_id: strawberry.ID
    name: str
    unit_price: Money
    quantity: int
    line_total: Money

    @strawberry.field(description="The product now, from the inventory; null once deleted.")
    def product(self) -> ProductRef | None:
        return ProductRef(id=self.product_id)

    @classmethod
    def from_domain(cls, line: OrderLine) -> Self:
        return cls(
            product_id=strawberry.ID(line.product_id),
            name=line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
        )


# Orders are for signed-in callers (the gateway refuses anonymous ones before planning, and
# every field returning an Order is covered by the type's directive)
@strawberry.federation.type(keys=["id"], name="Order", directives=[Authenticated()])
class OrderType:
    id: strawberry.ID
    user_id: strawberry.ID
    status: OrderStatus
    items: list[OrderItemType] = strawberry.field(
        directives=[
            ListSize(  # type: ignore[call-arg]  # (left out: left out of the SDL)
                assumed_size=ASSUMED_LINES, require_one_slicing_argument=False
            )
        ]
    )
    total: Money
    currency: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, order: Order) -> Self:
        return cls(
            id=strawberry.ID(order.id),
            user_id=strawberry.ID(order.user_id),
            status=OrderStatus.from_domain(order.status),
            items=[OrderItemType.from_domain(line) for line in order.items],
            total=order.total,
            currency=order.currency,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Self | None:
        """Batched, and only orders the caller may see."""
        order = await info.context.order_loader.load(str(id))
        return cls.from_domain(order) if order is not None else None


OrderPage = Page[OrderType]


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateOrderInput:
    items: list[OrderLineInput]
