"""The order: lines copied from the products at ordering time, exact totals, and the status
machine of the contract, plus the internal states that make crash recovery possible."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orders.domain.errors import TransitionNotAllowed
from platform_kit.errors import InvalidInput

__all__ = [
    "Order",
    "OrderLine",
    "OrderStatus",
    "RequestedLine",
    "StatusChange",
    "fingerprint",
    "merge_lines",
    "total_of",
    "validate_idempotency_key",
]

MAX_LINES = 100
MAX_QUANTITY = 10_000
_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
CENTS = Decimal("0.01")


class OrderStatus(StrEnum):
    RESERVING = "reserving"  # written before the inventory is asked; never shown
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLING = "cancelling"  # cancel accepted, units on their way back; shown as pending
    CANCELLED = "cancelled"
    FAILED = "failed"  # the attempt took nothing; never shown

    @property
    def visible(self) -> bool:
        return self in _VISIBLE

    @property
    def open(self) -> bool:
        """Holding stock: counts against the caller's open orders."""
        return self in _OPEN

    @property
    def public(self) -> OrderStatus:
        return OrderStatus.PENDING if self is OrderStatus.CANCELLING else self


_OPEN = frozenset({OrderStatus.RESERVING, OrderStatus.PENDING, OrderStatus.CANCELLING})
_VISIBLE = frozenset(
    {OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.CANCELLING, OrderStatus.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class RequestedLine:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: str
    name: str
    unit_price: Decimal
    quantity: int
    currency: str

    @property
    def line_total(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENTS)


def total_of(items: tuple[OrderLine, ...]) -> Decimal:
    return sum((line.line_total for line in items), Decimal("0.00")).quantize(CENTS)


def merge_lines(lines: list[Any]) -> list[RequestedLine]:
    """Repeated lines of one product become one; the result is in product order."""
    if not lines:
        raise InvalidInput("items", "an order needs at least one item")
    if len(lines) > MAX_LINES:
        raise InvalidInput("items", f"at most {MAX_LINES} items")
    merged: dict[str, int] = {}
    for index, line in enumerate(lines):
        product_id, quantity = line.product_id, line.quantity
        if not isinstance(product_id, str) or not _PRODUCT_ID.match(product_id):
            raise InvalidInput(f"items[{index}].product_id", "is not a product id")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(f"items[{index}].quantity", "must be a whole number >= 1")
        merged[product_id] = merged.get(product_id, 0) + quantity
        if merged[product_id] > MAX_QUANTITY:
            raise InvalidInput(f"items[{index}].quantity", f"at most {MAX_QUANTITY} per product")
    return [RequestedLine(pid, qty) for pid, qty in sorted(merged.items())]


def fingerprint(lines: list[RequestedLine]) -> str:
    """What makes two create requests "the same" for idempotency: the merged lines."""
    canonical = ";".join(f"{line.product_id}x{line.quantity}" for line in lines)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("idempotency_key", "must be 1 to 255 visible ASCII characters")
    return key


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: OrderStatus
    requested: tuple[RequestedLine, ...]
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    items: tuple[OrderLine, ...] = ()
    idempotency_key: str | None = None
    # which of the caller's open-order places this order holds (0 to the limit - 1), while
    # it is open; two open orders of one user never hold the same place
    slot: int | None = None

    @property
    def total(self) -> Decimal:
        return total_of(self.items)

    @property
    def currency(self) -> str:
        return self.items[0].currency if self.items else "USD"

    def visible_to(self, user_id: str, is_admin: bool) -> bool:
        return self.status.visible and (is_admin or self.user_id == user_id)

    def priced(self, items: list[OrderLine]) -> Order:
        """The order once the inventory reserved its lines and told their names and prices."""
        currencies = {line.currency for line in items}
        if len(currencies) > 1:
            raise InvalidInput(
                "items",
                "all items of an order must share one currency; "
                f"got {', '.join(sorted(currencies))}",
            )
        return replace(self, items=tuple(sorted(items, key=lambda line: line.product_id)))

    def check_transition(self, target: OrderStatus) -> None:
        """pending -> completed | cancelled; cancelling may finish as cancelled."""
        allowed = {
            OrderStatus.PENDING: {OrderStatus.COMPLETED, OrderStatus.CANCELLED},
            OrderStatus.CANCELLING: {OrderStatus.CANCELLED},
        }.get(self.status, set())
        if target not in allowed:
            raise TransitionNotAllowed(self.status.public.value, target.value)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An order's move from one of `from_statuses` to another status, with the priced lines
    when the inventory reserved them, and what the move frees: a failed attempt frees its
    idempotency key (the caller may try again with it), and an order that is no longer open
    frees its place among the caller's open orders."""

    from_statuses: Collection[OrderStatus]
    to: OrderStatus
    at: datetime
    items: tuple[OrderLine, ...] | None = None

    def allowed_for(self, order: Order) -> bool:
        return order.status in self.from_statuses

    @property
    def frees_key(self) -> bool:
        return self.to is OrderStatus.FAILED

    @property
    def frees_slot(self) -> bool:
        return not self.to.open

    def applied_to(self, order: Order) -> Order:
        return replace(
            order,
            status=self.to,
            updated_at=self.at,
            items=order.items if self.items is None else self.items,
            idempotency_key=None if self.frees_key else order.idempotency_key,
            slot=None if self.frees_slot else order.slot,
        )
