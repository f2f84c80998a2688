"""Who receives which order changes: decided by the use case, for every change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from orders.adapters.mongo_order_changes import order_change
from orders.domain.order import Order, OrderStatus
from orders.service_layer.order_events import OrderEvents
from platform_kit.auth import Principal, Role
from platform_kit.errors import Unauthenticated

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _order(order_id: str, user: str, status: OrderStatus = OrderStatus.PENDING) -> Order:
    return Order(
        id=order_id,
        user_id=user,
        status=status,
        requested=(),
        fingerprint="f",
        created_at=NOW,
        updated_at=NOW,
    )


class Replay:
    """A feed that replays fixed changes to each subscriber."""

    def __init__(self, orders: list[Order]) -> None:
        self.orders = orders

    @asynccontextmanager
    async def subscribe(self, key: Hashable | None = None) -> AsyncIterator[AsyncIterator[Order]]:
        async def changes() -> AsyncIterator[Order]:
            for order in self.orders:
                yield order

        yield changes()


CHANGES = [
    _order("a1", "alice"),
    _order("b1", "bob"),
    _order("a2", "alice", OrderStatus.RESERVING),  # never shown to anyone
    _order("a1", "alice", OrderStatus.COMPLETED),
]


async def _seen(principal: Principal | None, order_id: str | None = None) -> list[tuple[str, str]]:
    events = OrderEvents(Replay(CHANGES))
    return [(o.id, o.status.value) async for o in events.watch(principal, order_id)]


async def test_a_customer_receives_only_their_own_visible_orders() -> None:
    alice = Principal("alice", Role.CUSTOMER)
    assert await _seen(alice) == [("a1", "pending"), ("a1", "completed")]
    assert await _seen(alice, "b1") == []  # naming another's order changes nothing


async def test_an_admin_receives_every_visible_order_and_id_narrows() -> None:
    admin = Principal("root", Role.ADMIN)
    assert await _seen(admin) == [("a1", "pending"), ("b1", "pending"), ("a1", "completed")]
    assert await _seen(admin, "b1") == [("b1", "pending")]


async def test_an_anonymous_caller_is_refused_before_anything_is_subscribed() -> None:
    with pytest.raises(Unauthenticated):
        await _seen(None)


def _event(operation: str, updated: dict[str, Any] | None = None) -> dict[str, Any]:
    document = {
        "_id": "o1",
        "user_id": "alice",
        "status": "pending",
        "requested": [],
        "fingerprint": "f",
        "created_at": NOW,
        "updated_at": NOW,
        "items": [],
    }
    event: dict[str, Any] = {"operationType": operation, "fullDocument": document}
    if updated is not None:
        event["updateDescription"] = {"updatedFields": updated}
    return event


def test_only_creations_and_status_changes_are_news() -> None:
    assert order_change(_event("insert")) is not None
    assert order_change(_event("update", {"status": "pending"})) is not None
    assert order_change(_event("update", {"slot": 3})) is None  # bookkeeping
    assert order_change(_event("delete")) is None
    assert order_change({"operationType": "update", "fullDocument": None}) is None
