"""Every index of the inventory database, defined once and created idempotently at start-up
(mongo/inventory-indexes.js mirrors this list for the compose stack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["INDEXES", "PRODUCTS", "RESERVATIONS", "ensure_indexes"]

PRODUCTS = "products"
RESERVATIONS = "reservations"


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: list[tuple[str, int]]
    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def model(self) -> IndexModel:
        return IndexModel(self.keys, name=self.name, **self.options)


INDEXES = [
    # sku is unique among live products; deletion moves it aside (see delete()).
    IndexSpec(
        PRODUCTS,
        [("sku", ASCENDING)],
        "sku_unique",
        {"unique": True, "partialFilterExpression": {"sku": {"$type": "string"}}},
    ),
    # keyset pagination: every sort key with _id as the tie-breaker.
    IndexSpec(PRODUCTS, [("name_key", ASCENDING), ("_id", ASCENDING)], "name_key_id"),
    IndexSpec(PRODUCTS, [("price", ASCENDING), ("_id", ASCENDING)], "price_id"),
    IndexSpec(PRODUCTS, [("created_at", ASCENDING), ("_id", ASCENDING)], "created_at_id"),
    IndexSpec(PRODUCTS, [("category", ASCENDING), ("created_at", DESCENDING)], "category"),
    IndexSpec(RESERVATIONS, [("state", ASCENDING), ("lease_until", ASCENDING)], "state_lease"),
]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    by_collection: dict[str, list[IndexModel]] = {}
    for spec in INDEXES:
        by_collection.setdefault(spec.collection, []).append(spec.model())
    for collection, models in by_collection.items():
        await db[collection].create_indexes(models)
