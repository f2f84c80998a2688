"""Every index of the orders database, defined once and created idempotently at start-up
(mongo/orders-indexes.js mirrors this list for the compose stack)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["ORDERS", "ensure_indexes"]

ORDERS = "orders"

INDEXES = [
    # Listing: a user's orders (or everyone's), newest first, ties broken by id.
    IndexModel(
        [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="user_created",
    ),
    IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="created"),
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
