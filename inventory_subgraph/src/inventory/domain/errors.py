"""Named failures of the inventory domain. They become GraphQL codes and HTTP problems only
at the edge (entrypoints/errors.py). The generic ones (InvalidInput, Unauthenticated,
Forbidden) and the stock ones (InsufficientStock, UnknownProducts) are the kit's."""

from __future__ import annotations

from platform_kit.errors import DomainError

__all__ = [
    "DuplicateSku",
    "ProductChanged",
    "ProductNotFound",
    "ReservationConflict",
    "ReservationNotFound",
]


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
        self.details = {"field": "sku"}


class ReservationNotFound(DomainError):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id!r} not found")


class ReservationConflict(DomainError):
    """The reservation id was used with other lines, or its state forbids the request."""
