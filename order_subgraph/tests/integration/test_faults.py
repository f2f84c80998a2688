"""Crashes between two writes, and an inventory that is away: nothing is lost or stranded.

Each test runs its own inventory and order processes, kills or stops one of them at the
point under test, and ends with the stock-conservation invariant."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import (
    ORDER,
    ORDERS,
    Stack,
    code,
    database_uri,
    start_inventory,
    start_orders,
)
from .invariant import assert_stock_conserved

FAST_RECONCILE = {
    "ORDERS_RECONCILE_GRACE_SECONDS": "0.5",
    "ORDERS_RECONCILE_INTERVAL_SECONDS": "0.5",
}


def _eventually(check: Callable[[], bool], attempts: int = 150) -> bool:
    for _ in range(attempts):
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path


def test_a_crash_after_reserving_is_reconciled_and_the_key_can_be_retried(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    logs: Path,
) -> None:
    inventory = start_inventory(mongo_server_uri, service_env, logs)
    orders_db = database_uri(mongo_server_uri, "ord")
    crashing = start_orders(
        mongo_server_uri,
        service_env,
        logs,
        inventory.base_url,
        database=orders_db,
        ORDERS_FAULT_CRASH_AT="after_reserve",
    )
    stack = Stack(inventory, crashing, make_token("admin-1", "admin"), make_token)
    try:
        product = stack.product(stock=10)
        token = make_token(f"crash-{uuid.uuid4().hex[:6]}")
        with pytest.raises(httpx.HTTPError):
            stack.order(token, (product["id"], 3), key="retry-me")
        assert crashing.process is not None and crashing.process.wait(10) == 17
        crashing.stop()
        assert stack.stock(product["id"]) == 7  # reserved, but no order recorded it

        stack.orders = start_orders(
            mongo_server_uri,
            service_env,
            logs,
            inventory.base_url,
            database=orders_db,
            **FAST_RECONCILE,
        )
        assert _eventually(lambda: stack.stock(product["id"]) == 10)
        listed = stack.orders_gql(ORDERS, {}, token)["data"]["orders"]
        assert listed["total"] == 0
        assert_stock_conserved(stack, {product["id"]: 10})

        retried = stack.order(token, (product["id"], 3), key="retry-me")
        assert retried["data"]["createOrder"]["status"] == "PENDING"
        assert stack.stock(product["id"]) == 7
        assert_stock_conserved(stack, {product["id"]: 10})
    finally:
        stack.orders.stop()
        inventory.stop()


def test_a_crash_after_marking_a_cancel_is_finished_by_reconciliation(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    logs: Path,
) -> None:
    inventory = start_inventory(mongo_server_uri, service_env, logs)
    orders_db = database_uri(mongo_server_uri, "ord")
    normal = start_orders(
        mongo_server_uri, service_env, logs, inventory.base_url, database=orders_db
    )
    stack = Stack(inventory, normal, make_token("admin-1", "admin"), make_token)
    try:
        product = stack.product(stock=10)
        token = make_token(f"cancel-{uuid.uuid4().hex[:6]}")
        order = stack.order(token, (product["id"], 3))["data"]["createOrder"]
        normal.stop()

        crashing = start_orders(
            mongo_server_uri,
            service_env,
            logs,
            inventory.base_url,
            database=orders_db,
            ORDERS_FAULT_CRASH_AT="after_cancel_mark",
        )
        stack.orders = crashing
        with pytest.raises(httpx.HTTPError):
            stack.set_status(token, order["id"], "CANCELLED")
        assert crashing.process is not None and crashing.process.wait(10) == 17
        crashing.stop()
        assert stack.stock(product["id"]) == 7  # marked, units not yet back

        stack.orders = start_orders(
            mongo_server_uri,
            service_env,
            logs,
            inventory.base_url,
            database=orders_db,
            **FAST_RECONCILE,
        )
        assert _eventually(
            lambda: (
                stack.orders_gql(ORDER, {"id": order["id"]}, token)["data"]["order"]["status"]
                == "CANCELLED"
            )
        )
        assert stack.stock(product["id"]) == 10
        assert_stock_conserved(stack, {product["id"]: 10})
    finally:
        stack.orders.stop()
        inventory.stop()


def test_with_the_inventory_away_orders_fail_fast_and_recover_without_restart(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    logs: Path,
) -> None:
    inventory_db = database_uri(mongo_server_uri, "inv")
    inventory = start_inventory(mongo_server_uri, service_env, logs, database=inventory_db)
    orders = start_orders(mongo_server_uri, service_env, logs, inventory.base_url)
    stack = Stack(inventory, orders, make_token("admin-1", "admin"), make_token)
    try:
        product = stack.product(stock=10)
        token = make_token(f"away-{uuid.uuid4().hex[:6]}")
        inventory.stop()

        assert code(stack.order(token, (product["id"], 1))) == "SERVICE_UNAVAILABLE"
        assert httpx.get(orders.base_url + "/readyz", timeout=15).status_code == 503
        assert stack.orders_gql(ORDERS, {}, token)["data"]["orders"]["total"] == 0

        stack.inventory = start_inventory(
            mongo_server_uri, service_env, logs, port=inventory.port, database=inventory_db
        )
        assert _eventually(lambda: httpx.get(orders.base_url + "/readyz").status_code == 200)
        assert stack.order(token, (product["id"], 1))["data"]["createOrder"]["status"] == (
            "PENDING"
        )
        assert stack.stock(product["id"]) == 9
        assert_stock_conserved(stack, {product["id"]: 10})
    finally:
        orders.stop()
        stack.inventory.stop()


def test_with_the_inventory_away_a_cancel_is_refused_and_completes_later(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    logs: Path,
) -> None:
    inventory_db = database_uri(mongo_server_uri, "inv")
    inventory = start_inventory(mongo_server_uri, service_env, logs, database=inventory_db)
    orders = start_orders(mongo_server_uri, service_env, logs, inventory.base_url)
    stack = Stack(inventory, orders, make_token("admin-1", "admin"), make_token)
    try:
        product = stack.product(stock=10)
        token = make_token(f"later-{uuid.uuid4().hex[:6]}")
        order = stack.order(token, (product["id"], 2))["data"]["createOrder"]
        inventory.stop()
        assert code(stack.set_status(token, order["id"], "CANCELLED")) == "SERVICE_UNAVAILABLE"

        stack.inventory = start_inventory(
            mongo_server_uri, service_env, logs, port=inventory.port, database=inventory_db
        )
        again = stack.set_status(token, order["id"], "CANCELLED")
        assert again["data"]["updateOrderStatus"]["status"] == "CANCELLED"
        assert stack.stock(product["id"]) == 10
        assert_stock_conserved(stack, {product["id"]: 10})
    finally:
        orders.stop()
        stack.inventory.stop()
