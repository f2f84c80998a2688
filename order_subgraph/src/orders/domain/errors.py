"""Named failures of the order domain; codes and HTTP statuses are given at the edge. The
generic ones (InvalidInput, Unauthenticated, Forbidden) and the stock ones
(InsufficientStock, UnknownProducts) are the kit's."""

from __future__ import annotations

from platform_kit.errors import DomainError

__all__ = [
    "IdempotencyKeyReused",
    "InventoryUnavailable",
    "OrderNotFound",
    "TooManyOpenOrders",
    "TransitionNotAllowed",
]


class OrderNotFound(DomainError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} not found")


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
        self.details = {"field": "idempotencyKey"}


class InventoryUnavailable(DomainError):
    """The inventory did not answer in time. `maybe_reserved` is False only when the request
    surely never reached it (connection refused)."""

    def __init__(self, maybe_reserved: bool = True) -> None:
        super().__init__("the inventory service is unavailable; try again shortly")
        self.maybe_reserved = maybe_reserved
