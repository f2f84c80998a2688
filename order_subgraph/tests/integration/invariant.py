"""The invariant every race and fault test ends with: for each product, the stock now plus
the units in orders that are not cancelled equals the stock at the start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .conftest import Stack

ALL_ORDERS = """query($cursor: String) {
  orders(limit: 100, cursor: $cursor) {
    items { status items { productId quantity } } nextCursor } }"""


def units_in_live_orders(stack: Stack) -> Counter[str]:
    units: Counter[str] = Counter()
    cursor = None
    while True:
        body = stack.orders_gql(ALL_ORDERS, {"cursor": cursor}, stack.admin)
        page = body["data"]["orders"]
        for order in page["items"]:
            if order["status"] != "CANCELLED":
                for item in order["items"]:
                    units[item["productId"]] += item["quantity"]
        cursor = page["nextCursor"]
        if cursor is None:
            return units


def assert_stock_conserved(
    stack: Stack, started_with: dict[str, int], products: Iterable[str] | None = None
) -> None:
    units = units_in_live_orders(stack)
    for product_id in products or started_with:
        assert stack.stock(product_id) + units[product_id] == started_with[product_id], (
            product_id,
            stack.stock(product_id),
            units[product_id],
        )
