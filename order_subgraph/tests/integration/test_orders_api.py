"""Creating, reading, listing and changing orders through the real services."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from .conftest import ORDER, ORDERS, Stack, code


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_an_order_merges_lines_copies_names_and_prices_and_totals_exactly(stack: Stack) -> None:
    mug = stack.product(stock=10, price="3.33", name="Mug")
    tea = stack.product(stock=5, price="0.10", name="Tea")
    token = stack.make_token(user())
    body = stack.order(token, (mug["id"], 1), (tea["id"], 2), (mug["id"], 2))
    order = body["data"]["createOrder"]
    assert order["status"] == "PENDING"
    items = {item["productId"]: item for item in order["items"]}
    assert items[mug["id"]] == {
        "productId": mug["id"],
        "name": "Mug",
        "unitPrice": "3.33",
        "quantity": 3,
        "lineTotal": "9.99",
        "product": {"id": mug["id"]},
    }
    assert items[tea["id"]]["lineTotal"] == "0.20"
    assert order["total"] == "10.19" and order["currency"] == "USD"
    assert (stack.stock(mug["id"]), stack.stock(tea["id"])) == (7, 3)


def test_later_product_edits_do_not_change_an_order(stack: Stack) -> None:
    product = stack.product(price="5.00", name="Old name")
    token = stack.make_token(user())
    order = stack.order(token, (product["id"], 1))["data"]["createOrder"]
    stack.inventory_gql(
        'mutation($id: ID!) { updateProduct(id: $id, input: {name: "New", price: "9.00"}) { id } }',
        {"id": product["id"]},
        stack.admin,
    )
    stack.inventory_gql(
        "mutation($id: ID!) { deleteProduct(id: $id) }", {"id": product["id"]}, stack.admin
    )
    got = stack.orders_gql(
        "query($id: ID!) { order(id: $id) { total items { name unitPrice } } }",
        {"id": order["id"]},
        token,
    )["data"]["order"]
    assert got == {"total": "5.00", "items": [{"name": "Old name", "unitPrice": "5.00"}]}


def test_insufficient_stock_takes_nothing_and_names_the_short_lines(stack: Stack) -> None:
    plenty, scarce = stack.product(stock=10), stack.product(stock=1)
    body = stack.order(stack.make_token(user()), (plenty["id"], 2), (scarce["id"], 3))
    assert code(body) == "INSUFFICIENT_STOCK"
    assert body["errors"][0]["extensions"]["shortages"] == [
        {"productId": scarce["id"], "requested": 3, "available": 1}
    ]
    assert (stack.stock(plenty["id"]), stack.stock(scarce["id"])) == (10, 1)


def test_an_unknown_product_is_bad_input_and_takes_nothing(stack: Stack) -> None:
    product = stack.product(stock=4)
    unknown = "0123456789abcdef01234567"
    body = stack.order(stack.make_token(user()), (product["id"], 1), (unknown, 1))
    assert code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["unknownProducts"] == [unknown]
    assert stack.stock(product["id"]) == 4


@pytest.mark.parametrize("quantity", [0, -2])
def test_a_bad_quantity_is_bad_input(stack: Stack, quantity: int) -> None:
    product = stack.product(stock=4)
    assert code(stack.order(stack.make_token(user()), (product["id"], quantity))) == (
        "BAD_USER_INPUT"
    )
    assert stack.stock(product["id"]) == 4


def test_an_empty_order_is_bad_input(stack: Stack) -> None:
    assert code(stack.order(stack.make_token(user()))) == "BAD_USER_INPUT"


def test_mixed_currencies_are_bad_input_and_take_nothing(stack: Stack) -> None:
    usd, eur = stack.product(stock=3), stack.product(stock=3, currency="EUR")
    body = stack.order(stack.make_token(user()), (usd["id"], 1), (eur["id"], 1))
    assert code(body) == "BAD_USER_INPUT"
    assert (stack.stock(usd["id"]), stack.stock(eur["id"])) == (3, 3)


def test_the_same_idempotency_key_returns_the_same_order_and_takes_stock_once(
    stack: Stack,
) -> None:
    product = stack.product(stock=10)
    token = stack.make_token(user())
    first = stack.order(token, (product["id"], 2), key="key-1")["data"]["createOrder"]
    again = stack.order(token, (product["id"], 1), (product["id"], 1), key="key-1")
    assert again["data"]["createOrder"] == first
    assert stack.stock(product["id"]) == 8
    other_user = stack.order(stack.make_token(user()), (product["id"], 2), key="key-1")
    assert other_user["data"]["createOrder"]["id"] != first["id"]
    assert stack.stock(product["id"]) == 6


def test_the_same_key_with_another_body_is_rejected(stack: Stack) -> None:
    product = stack.product(stock=10)
    token = stack.make_token(user())
    stack.order(token, (product["id"], 2), key="key-2")
    body = stack.order(token, (product["id"], 3), key="key-2")
    assert code(body) == "BAD_USER_INPUT"
    assert stack.stock(product["id"]) == 8


def test_a_failed_attempt_does_not_hold_its_key(stack: Stack) -> None:
    product = stack.product(stock=1)
    token = stack.make_token(user())
    assert code(stack.order(token, (product["id"], 2), key="key-3")) == "INSUFFICIENT_STOCK"
    stack.inventory_gql(
        "mutation($id: ID!) { updateProduct(id: $id, input: {stock: 5}) { id } }",
        {"id": product["id"]},
        stack.admin,
    )
    assert stack.order(token, (product["id"], 2), key="key-3")["data"]["createOrder"]
    assert stack.stock(product["id"]) == 3


def test_anonymous_callers_cannot_order(stack: Stack) -> None:
    product = stack.product()
    assert (
        code(
            stack.orders_gql(
                "mutation($p: ID!) { createOrder(input: {items: [{productId: $p, quantity: 1}]}) "
                "{ id } }",
                {"p": product["id"]},
            )
        )
        == "UNAUTHENTICATED"
    )


def test_owners_and_admins_see_an_order_and_nobody_else(stack: Stack) -> None:
    product = stack.product()
    owner = stack.make_token(user())
    order = stack.order(owner, (product["id"], 1))["data"]["createOrder"]
    assert (
        stack.orders_gql(ORDER, {"id": order["id"]}, owner)["data"]["order"]["id"] == (order["id"])
    )
    assert stack.orders_gql(ORDER, {"id": order["id"]}, stack.admin)["data"]["order"]
    stranger = stack.make_token(user())
    assert stack.orders_gql(ORDER, {"id": order["id"]}, stranger) == {"data": {"order": None}}
    assert stack.orders_gql(ORDER, {"id": "nope"}, owner) == {"data": {"order": None}}
    assert code(stack.orders_gql(ORDER, {"id": order["id"]})) == "UNAUTHENTICATED"


def test_order_entities_respect_visibility(stack: Stack) -> None:
    product = stack.product()
    owner = stack.make_token(user())
    order = stack.order(owner, (product["id"], 1))["data"]["createOrder"]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id total } } }"
    reps = {"r": [{"__typename": "Order", "id": order["id"]}]}
    assert stack.orders_gql(query, reps, owner)["data"]["_entities"] == [
        {"id": order["id"], "total": "10.00"}
    ]
    assert stack.orders_gql(query, reps, stack.make_token(user()))["data"]["_entities"] == [None]


def test_customers_list_their_own_orders_newest_first_in_stable_pages(stack: Stack) -> None:
    product = stack.product(stock=100)
    me = user()
    token = stack.make_token(me)
    made = [stack.order(token, (product["id"], 1))["data"]["createOrder"]["id"] for _ in range(5)]
    stack.order(stack.make_token(user()), (product["id"], 1))
    page = stack.orders_gql(ORDERS, {}, token)["data"]["orders"]
    assert [o["id"] for o in page["items"]] == made[::-1]
    assert {o["userId"] for o in page["items"]} == {me}
    assert page["total"] == 5

    walked, cursor = [], None
    while True:
        page = stack.orders_gql(ORDERS, {"limit": 2, "cursor": cursor}, token)["data"]["orders"]
        assert page["offset"] == len(walked)
        walked += [o["id"] for o in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert walked == made[::-1]
    by_offset = stack.orders_gql(ORDERS, {"limit": 2, "offset": 2}, token)["data"]["orders"]
    assert [o["id"] for o in by_offset["items"]] == made[::-1][2:4]


def test_listing_filters_by_status_and_admins_pick_a_user(stack: Stack) -> None:
    product = stack.product(stock=100)
    me = user()
    token = stack.make_token(me)
    kept = stack.order(token, (product["id"], 1))["data"]["createOrder"]["id"]
    dropped = stack.order(token, (product["id"], 1))["data"]["createOrder"]["id"]
    stack.set_status(token, dropped, "CANCELLED")
    pending = stack.orders_gql(ORDERS, {"status": "PENDING"}, token)["data"]["orders"]
    assert [o["id"] for o in pending["items"]] == [kept]
    cancelled = stack.orders_gql(ORDERS, {"status": "CANCELLED"}, token)["data"]["orders"]
    assert [o["id"] for o in cancelled["items"]] == [dropped]
    for_admin = stack.orders_gql(ORDERS, {"userId": me}, stack.admin)["data"]["orders"]
    assert {o["id"] for o in for_admin["items"]} == {kept, dropped}
    assert code(stack.orders_gql(ORDERS, {"userId": "someone-else"}, token)) == "FORBIDDEN"
    assert stack.orders_gql(ORDERS, {"userId": me}, token)["data"]["orders"]["total"] == 2


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1, "cursor": "x"}, "cursor"),
        ({"cursor": "junk"}, "cursor"),
    ],
)
def test_bad_page_parameters_are_bad_input(
    stack: Stack, variables: dict[str, object], field: str
) -> None:
    body = stack.orders_gql(ORDERS, variables, stack.make_token(user()))
    assert code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field


def test_an_admin_completes_and_a_customer_cannot(stack: Stack) -> None:
    product = stack.product(stock=5)
    token = stack.make_token(user())
    order = stack.order(token, (product["id"], 2))["data"]["createOrder"]
    assert code(stack.set_status(token, order["id"], "COMPLETED")) == "FORBIDDEN"
    done = stack.set_status(stack.admin, order["id"], "COMPLETED")["data"]["updateOrderStatus"]
    assert done["status"] == "COMPLETED"
    assert code(stack.set_status(token, order["id"], "CANCELLED")) == "CONFLICT"
    assert code(stack.set_status(stack.admin, order["id"], "COMPLETED")) == "CONFLICT"
    assert stack.stock(product["id"]) == 3


def test_cancelling_gives_the_units_back_once_and_is_final(stack: Stack) -> None:
    product = stack.product(stock=5)
    token = stack.make_token(user())
    order = stack.order(token, (product["id"], 2))["data"]["createOrder"]
    cancelled = stack.set_status(token, order["id"], "CANCELLED")["data"]["updateOrderStatus"]
    assert cancelled["status"] == "CANCELLED"
    assert stack.stock(product["id"]) == 5
    assert code(stack.set_status(token, order["id"], "CANCELLED")) == "CONFLICT"
    assert code(stack.set_status(stack.admin, order["id"], "COMPLETED")) == "CONFLICT"
    assert code(stack.set_status(token, order["id"], "PENDING")) == "CONFLICT"
    assert stack.stock(product["id"]) == 5


def test_another_users_order_cannot_be_changed(stack: Stack) -> None:
    product = stack.product(stock=5)
    order = stack.order(stack.make_token(user()), (product["id"], 1))["data"]["createOrder"]
    assert code(stack.set_status(stack.make_token(user()), order["id"], "CANCELLED")) == (
        "NOT_FOUND"
    )
    assert stack.stock(product["id"]) == 4


def test_an_admin_may_cancel_any_order(stack: Stack) -> None:
    product = stack.product(stock=5)
    order = stack.order(stack.make_token(user()), (product["id"], 3))["data"]["createOrder"]
    assert stack.set_status(stack.admin, order["id"], "CANCELLED")["data"]
    assert stack.stock(product["id"]) == 5


def test_totals_are_exact_for_many_cents(stack: Stack) -> None:
    product = stack.product(stock=1000, price="0.10")
    order = stack.order(stack.make_token(user()), (product["id"], 3))["data"]["createOrder"]
    assert Decimal(order["total"]) == Decimal("0.30")
