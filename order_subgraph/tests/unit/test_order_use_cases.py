"""Order use cases against in-memory ports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orders.domain.errors import (
    IdempotencyKeyReused,
    InventoryUnavailable,
    OrderNotFound,
    TooManyOpenOrders,
    TransitionNotAllowed,
)
from orders.domain.order import OrderStatus, RequestedLine, StatusChange
from orders.service_layer.orders import Orders
from platform_kit.auth import Principal, Role
from platform_kit.errors import Forbidden, Unauthenticated
from platform_kit.stock import InsufficientStock

from .fakes import FakeInventory, FakeOrders

ALICE = Principal("alice", Role.CUSTOMER)
BOB = Principal("bob", Role.CUSTOMER)
ADMIN = Principal("root", Role.ADMIN)


@pytest.fixture
def inventory() -> FakeInventory:
    return FakeInventory({"p1": 10, "p2": 1, "p3": 1}, {"p1": "2.50"})


@pytest.fixture
def repository() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def orders(repository: FakeOrders, inventory: FakeInventory) -> Orders:
    return Orders(repository, inventory)


async def test_a_created_order_is_pending_with_copied_prices(
    orders: Orders, inventory: FakeInventory
) -> None:
    order = await orders.create(ALICE, [RequestedLine("p1", 2)])
    assert order.status is OrderStatus.PENDING and order.user_id == "alice"
    assert str(order.total) == "5.00"
    assert inventory.stock["p1"] == 8


async def test_a_refused_reservation_leaves_a_failed_invisible_attempt(
    orders: Orders, repository: FakeOrders
) -> None:
    with pytest.raises(InsufficientStock):
        await orders.create(ALICE, [RequestedLine("p2", 5)])
    assert [o.status for o in repository.orders.values()] == [OrderStatus.FAILED]
    assert (
        await orders.page(ALICE, status=None, user_id=None, limit=None, offset=None, cursor=None)
    ).total == 0


async def test_a_reservation_refused_for_stock_is_not_released_again(
    orders: Orders, inventory: FakeInventory
) -> None:
    # the inventory holds nothing for a refused reservation: a flash sale's refusals cost
    # one call each, not two
    with pytest.raises(InsufficientStock):
        await orders.create(ALICE, [RequestedLine("p2", 5)])
    assert inventory.released == []


async def test_an_unreachable_inventory_fails_the_attempt(
    orders: Orders, inventory: FakeInventory, repository: FakeOrders
) -> None:
    inventory.down = True
    with pytest.raises(InventoryUnavailable):
        await orders.create(ALICE, [RequestedLine("p1", 1)])
    assert [o.status for o in repository.orders.values()] == [OrderStatus.FAILED]


async def test_idempotency_replays_and_refuses_other_bodies(
    orders: Orders, inventory: FakeInventory
) -> None:
    first = await orders.create(ALICE, [RequestedLine("p1", 2)], "k")
    assert (
        await orders.create(ALICE, [RequestedLine("p1", 1), RequestedLine("p1", 1)], "k") == first
    )
    with pytest.raises(IdempotencyKeyReused):
        await orders.create(ALICE, [RequestedLine("p1", 3)], "k")
    assert (await orders.create(BOB, [RequestedLine("p1", 2)], "k")).id != first.id
    assert inventory.stock["p1"] == 6


async def test_anonymous_and_service_callers_cannot_order(orders: Orders) -> None:
    with pytest.raises(Unauthenticated):
        await orders.create(None, [RequestedLine("p1", 1)])
    with pytest.raises(Forbidden):
        await orders.create(Principal("svc", Role.SERVICE), [RequestedLine("p1", 1)])


async def test_visibility_and_status_rules(orders: Orders, inventory: FakeInventory) -> None:
    order = await orders.create(ALICE, [RequestedLine("p1", 4)])
    assert await orders.get(BOB, order.id) is None
    assert await orders.get(ADMIN, order.id) == order
    with pytest.raises(OrderNotFound):
        await orders.update_status(BOB, order.id, OrderStatus.CANCELLED)
    with pytest.raises(Forbidden):
        await orders.update_status(ALICE, order.id, OrderStatus.COMPLETED)
    with pytest.raises(Forbidden):
        await orders.page(ALICE, status=None, user_id="bob", limit=None, offset=None, cursor=None)
    cancelled = await orders.update_status(ALICE, order.id, OrderStatus.CANCELLED)
    assert cancelled.status is OrderStatus.CANCELLED and inventory.stock["p1"] == 10
    with pytest.raises(TransitionNotAllowed):
        await orders.update_status(ADMIN, order.id, OrderStatus.COMPLETED)


async def test_reconciliation_settles_stuck_orders(
    orders: Orders, repository: FakeOrders, inventory: FakeInventory
) -> None:
    stuck_cancel = await orders.create(ALICE, [RequestedLine("p1", 2)])
    stuck_reserve = await orders.create(ALICE, [RequestedLine("p1", 3)])
    for order, status in (
        (stuck_cancel, OrderStatus.CANCELLING),
        (stuck_reserve, OrderStatus.RESERVING),
    ):
        crashed = StatusChange({OrderStatus.PENDING}, status, order.created_at)
        await repository.transition(order.id, crashed)
    assert inventory.stock["p1"] == 5
    assert await orders.reconcile(timedelta(seconds=-1)) == 2
    assert inventory.stock["p1"] == 10
    assert repository.orders[stuck_cancel.id].status is OrderStatus.CANCELLED
    assert repository.orders[stuck_reserve.id].status is OrderStatus.FAILED


async def test_open_orders_are_capped_per_caller_and_a_closed_one_frees_its_place(
    repository: FakeOrders, inventory: FakeInventory
) -> None:
    orders = Orders(repository, inventory, max_open_orders=2)
    first = await orders.create(ALICE, [RequestedLine("p1", 1)])
    await orders.create(ALICE, [RequestedLine("p1", 1)])
    with pytest.raises(TooManyOpenOrders):
        await orders.create(ALICE, [RequestedLine("p1", 1)])
    await orders.create(BOB, [RequestedLine("p1", 1)])  # the cap is per caller
    await orders.update_status(ALICE, first.id, OrderStatus.CANCELLED)
    again = await orders.create(ALICE, [RequestedLine("p1", 1)])
    assert again.slot == first.slot


async def test_a_customer_with_many_open_orders_finds_a_free_place_in_two_tries(
    repository: FakeOrders, inventory: FakeInventory
) -> None:
    orders = Orders(repository, inventory, max_open_orders=20)
    for _ in range(10):
        await orders.create(ALICE, [RequestedLine("p1", 1)])
    repository.inserts = repository.slot_reads = 0
    eleventh = await orders.create(ALICE, [RequestedLine("p3", 1)])
    assert eleventh.slot == 10
    assert (repository.inserts, repository.slot_reads) == (2, 1)


async def test_a_failed_attempt_holds_no_place(
    repository: FakeOrders, inventory: FakeInventory
) -> None:
    orders = Orders(repository, inventory, max_open_orders=1)
    with pytest.raises(InsufficientStock):
        await orders.create(ALICE, [RequestedLine("p2", 5)])
    assert (await orders.create(ALICE, [RequestedLine("p1", 1)])).status is OrderStatus.PENDING
