"""Stock that could not be reserved, as both subgraphs name it: the inventory refuses a
reservation with it, the order service passes it on to its caller. A shortage has one shape
wherever it travels (snake_case; GraphQL camelCases the keys)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from platform_kit.errors import DomainError

__all__ = ["InsufficientStock", "Shortage", "UnknownProducts"]


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: str
    requested: int
    available: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shortage:
        return cls(data["product_id"], data["requested"], data["available"])


class InsufficientStock(DomainError):
    def __init__(self, shortages: list[Shortage]) -> None:
        names = ", ".join(
            f"{s.product_id} (requested {s.requested}, available {s.available})" for s in shortages
        )
        super().__init__(f"insufficient stock: {names}")
        self.shortages = shortages
        self.details = {"shortages": [shortage.as_dict() for shortage in shortages]}


class UnknownProducts(DomainError):
    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"unknown products: {', '.join(product_ids)}")
        self.product_ids = product_ids
        self.details = {"unknown_products": product_ids}
