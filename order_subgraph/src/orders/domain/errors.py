"""Named failures of the order domain; codes and HTTP statuses are given at the edge."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DomainError",
    "Forbidden",
    "IdempotencyKeyReused",
    "InsufficientStock",
    "InvalidInput",
    "InventoryUnavailable",
    "OrderNotFound",
    "Shortage",
    "TooManyOpenOrders",
    "TransitionNotAllowed",
    "Unauthenticated",
    "UnknownProducts",
]


class DomainError(Exception):
    """Base of every expected failure; the message is safe to show to the caller."""


class InvalidInput(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class OrderNotFound(DomainError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} not found")


class Unauthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__("authentication required: send Authorization: Bearer <token>")


class Forbidden(DomainError):
    pass


class TransitionNotAllowed(DomainError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an order that is {current} cannot become {target}")


class TooManyOpenOrders(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"at most {limit} open orders at a time: complete or cancel one before ordering more"
        )
        self.limit = limit


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used for a different order")


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: str
    requested: int
    available: int


class InsufficientStock(DomainError):
    def __init__(self, shortages: list[Shortage]) -> None:
        names = ", ".join(
            f"{s.product_id} (requested {s.requested}, available {s.available})" for s in shortages
        )
        super().__init__(f"insufficient stock: {names}")
        self.shortages = shortages


class UnknownProducts(DomainError):
    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"unknown products: {', '.join(product_ids)}")
        self.product_ids = product_ids


class InventoryUnavailable(DomainError):
    """The inventory did not answer in time. `maybe_reserved` is False only when the request
    surely never reached it (connection refused)."""

    def __init__(self, maybe_reserved: bool = True) -> None:
        super().__init__("the inventory service is unavailable; try again shortly")
        self.maybe_reserved = maybe_reserved
