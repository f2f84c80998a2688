"""Named failures of the inventory domain. They become GraphQL codes and HTTP problems only
at the edge (entrypoints/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DomainError",
    "DuplicateSku",
    "Forbidden",
    "InsufficientStock",
    "InvalidInput",
    "ProductChanged",
    "ProductNotFound",
    "ReservationConflict",
    "ReservationNotFound",
    "Shortage",
    "Unauthenticated",
    "UnknownProducts",
]


class DomainError(Exception):
    """Base of every expected failure; the message is safe to show to the caller."""


class InvalidInput(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ProductNotFound(DomainError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"product {product_id!r} not found")
        self.product_id = product_id


class ProductChanged(DomainError):
    """The product is no longer at the version the caller read (HTTP 412)."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"product {product_id!r} changed since it was read: read it again")
        self.product_id = product_id


class DuplicateSku(DomainError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"a product with sku {sku!r} already exists")
        self.sku = sku


class Unauthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__("authentication required: send Authorization: Bearer <token>")


class Forbidden(DomainError):
    def __init__(self, needed: str) -> None:
        super().__init__(f"this operation needs the {needed} role")


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


class ReservationNotFound(DomainError):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id!r} not found")


class ReservationConflict(DomainError):
    """The reservation id was used with other lines, or its state forbids the request."""
