"""Adapter: the orders collection's change events as orders.

An order is sent on its creation and on each change of its status; other writes to it
(bookkeeping of the reservation) are no news to a subscriber."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orders.adapters.mongo_orders import to_order
from orders.domain.order import Order

__all__ = ["order_change"]


def order_change(event: Mapping[str, Any]) -> Order | None:
    operation = event.get("operationType")
    document = event.get("fullDocument")
    if operation not in ("insert", "replace", "update") or not isinstance(document, Mapping):
        return None
    if operation == "update":
        changed = (event.get("updateDescription") or {}).get("updatedFields")
        if isinstance(changed, Mapping) and "status" not in changed:
            return None
    return to_order(dict(document))
