"""Every index of the orders database, defined once and created idempotently at start-up
(mongo/orders-indexes.js mirrors this list for the compose stack)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from orders.adapters.mongo_orders import ALL_ORDERS, BY_CUSTOMER

__all__ = ["LISTING_STATE", "ORDERS", "ensure_indexes"]

ORDERS = "orders"
LISTING_STATE = "listing_state"  # the generations of what listing totals count
RETIRED = ["user_created", "created"]  # listing indexes of earlier releases

INDEXES = [
    # Listings (adapters/mongo_orders.py): every order's key in all orders and within its
    # customer's, and the sparse fences that bound every read of them.
    *(
        model
        for field in (ALL_ORDERS, BY_CUSTOMER)
        for model in (
            IndexModel([(field.key, ASCENDING)], name=field.key),
            IndexModel([(field.fence, ASCENDING)], name=field.fence, sparse=True),
        )
    ),
    # Idempotency: one live order per (user, key); a failed attempt unsets its key.
    IndexModel(
        [("user_id", ASCENDING), ("idempotency_key", ASCENDING)],
        name="user_idempotency_key",
        unique=True,
        partialFilterExpression={"idempotency_key": {"$type": "string"}},
    ),
    # The cap on open orders: each open order holds one of its user's slots; leaving the
    # open statuses unsets it.
    IndexModel(
        [("user_id", ASCENDING), ("slot", ASCENDING)],
        name="user_open_slot",
        unique=True,
        partialFilterExpression={"slot": {"$type": "int"}},
    ),
    # Reconciliation: orders stuck in an internal state.
    IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"),
]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[ORDERS].create_indexes(INDEXES)
    existing = await db[ORDERS].index_information()
    for name in RETIRED:
        if name in existing:
            await db[ORDERS].drop_index(name)
