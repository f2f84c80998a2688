"""Every index of the inventory database, defined once and created idempotently at start-up
(mongo/inventory-indexes.js mirrors this list for the compose stack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pymongo
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from inventory.adapters.product_queries import OUT_OF_STOCK_FIELDS, TEXT_ORDER, ordered_field
from inventory.domain.listing import SortKey
from platform_kit.bulk_load import BUILD_TIMEOUT_SECONDS

__all__ = [
    "INDEXES",
    "LISTING_STATE",
    "PRODUCTS",
    "RESERVATIONS",
    "ensure_indexes",
    "indexes_of",
]

PRODUCTS = "products"
RESERVATIONS = "reservations"
LISTING_STATE = "listing_state"  # the generations of what listing totals count
# listing indexes of earlier releases, dropped at start-up (the keyed fields replace them)
RETIRED = {PRODUCTS: ["name_key_id", "price_id", "created_at_id", "category", "grams"]}


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
    # listings (adapters/product_queries.py): each sort's key in the catalog and within a
    # category, and the sparse fences that bound every read of them
    *(
        spec
        for sort_key in SortKey
        for in_category in (False, True)
        for spec in (
            IndexSpec(
                PRODUCTS,
                [(ordered_field(sort_key, in_category=in_category).key, ASCENDING)],
                ordered_field(sort_key, in_category=in_category).key,
            ),
            IndexSpec(
                PRODUCTS,
                [(ordered_field(sort_key, in_category=in_category).fence, ASCENDING)],
                ordered_field(sort_key, in_category=in_category).fence,
                {"sparse": True},
            ),
        )
    ),
    # the catalog's products out of stock: each sort's key again, only on them (the
    # catalog's fences bound their ranges)
    *(
        IndexSpec(PRODUCTS, [(name, ASCENDING)], name, {"sparse": True})
        for name in OUT_OF_STOCK_FIELDS
    ),
    # text in the name: the products holding a three-character piece (in the catalog's order
    # of creation, so that a common piece's holders are read a bounded window at a time), and
    # a sample of them
    IndexSpec(PRODUCTS, [("grams", ASCENDING), (TEXT_ORDER.key, ASCENDING)], "grams_created"),
    IndexSpec(PRODUCTS, [("sample_grams", ASCENDING)], "sample_grams", {"sparse": True}),
    IndexSpec(RESERVATIONS, [("state", ASCENDING), ("lease_until", ASCENDING)], "state_lease"),
]


def indexes_of(collection: str) -> list[IndexModel]:
    return [spec.model() for spec in INDEXES if spec.collection == collection]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    by_collection: dict[str, list[IndexModel]] = {}
    for spec in INDEXES:
        by_collection.setdefault(spec.collection, []).append(spec.model())
    for collection, models in by_collection.items():
        # a build over a loaded catalog (after a bulk import stopped half-way) takes longer
        # than the client's per-operation bound
        with pymongo.timeout(BUILD_TIMEOUT_SECONDS):
            await db[collection].create_indexes(models)
    for collection, names in RETIRED.items():
        existing = await db[collection].index_information()
        for name in names:
            if name in existing:
                await db[collection].drop_index(name)
