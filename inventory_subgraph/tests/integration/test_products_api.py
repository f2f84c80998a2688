"""Every product query and mutation, and its errors, over HTTP against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess

from .conftest import GraphQL, error_code

ProductFactory = Callable[..., dict[str, Any]]

GET = "query Get($id: ID!) { product(id: $id) { id name price stock sku } }"
UPDATE = """mutation Update($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id name price stock sku description updatedAt } }"""
DELETE = "mutation Delete($id: ID!) { deleteProduct(id: $id) }"
CREATE = "mutation C($input: CreateProductInput!) { createProduct(input: $input) { id price } }"


def test_an_admin_creates_a_product_with_exact_money(create_product: ProductFactory) -> None:
    product = create_product(
        name="Mug", price="12.5", sku="SKU-MUG", stock=7, category="kitchen", description="A mug"
    )
    assert product["price"] == "12.50"
    assert product["currency"] == "USD"
    assert (product["stock"], product["sku"], product["category"]) == (7, "SKU-MUG", "kitchen")
    assert product["createdAt"] == product["updatedAt"]


def test_a_price_may_be_sent_as_a_json_number(gql: GraphQL, admin_token: str) -> None:
    body = gql(CREATE, {"input": {"name": "N", "price": 19.99}}, admin_token)
    assert body["data"]["createProduct"]["price"] == "19.99"


def test_stock_defaults_to_zero(create_product: ProductFactory) -> None:
    assert create_product()["stock"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"price": "0"}, "price"),
        ({"price": "-3.00"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"stock": -1}, "stock"),
        ({"currency": "dollars"}, "currency"),
        ({"price": "1e26"}, "price"),  # once a 500: rounding overflowed
        ({"price": "1e999999999"}, "price"),
        ({"price": 1e30}, "price"),
    ],
)
def test_invalid_fields_are_bad_user_input_naming_the_field(
    gql: GraphQL, admin_token: str, fields: dict[str, Any], field: str
) -> None:
    body = gql(CREATE, {"input": {"name": "ok", "price": "1.00", **fields}}, admin_token)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field


@pytest.mark.parametrize("price", ["abc", "NaN", "Infinity", True, "1_0", "\u0661\u0660", " 5 "])
def test_a_price_that_is_not_a_number_is_bad_user_input(
    gql: GraphQL, admin_token: str, price: Any
) -> None:
    body = gql(CREATE, {"input": {"name": "ok", "price": price}}, admin_token)
    assert error_code(body) == "BAD_USER_INPUT"


def test_a_duplicate_sku_is_a_conflict(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    create_product(sku="DUP-1")
    body = gql(CREATE, {"input": {"name": "again", "price": "1.00", "sku": "DUP-1"}}, admin_token)
    assert error_code(body) == "CONFLICT"


def test_products_without_sku_do_not_collide(create_product: ProductFactory) -> None:
    assert create_product()["sku"] is None
    assert create_product()["sku"] is None


def test_a_product_is_read_by_anyone(create_product: ProductFactory, gql: GraphQL) -> None:
    product = create_product(name="Readable")
    assert gql(GET, {"id": product["id"]})["data"]["product"]["name"] == "Readable"


@pytest.mark.parametrize("product_id", ["0123456789abcdef01234567", "not-an-id", "$ne", ""])
def test_an_unknown_or_malformed_id_reads_as_null(gql: GraphQL, product_id: str) -> None:
    body = gql(GET, {"id": product_id})
    assert body == {"data": {"product": None}}


def test_a_partial_update_changes_only_what_is_given(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(name="Before", price="5.00", stock=3, description="keep me")
    body = gql(UPDATE, {"id": product["id"], "input": {"price": "6.5"}}, admin_token)
    updated = body["data"]["updateProduct"]
    assert (updated["name"], updated["price"], updated["stock"]) == ("Before", "6.50", 3)
    assert updated["description"] == "keep me"
    assert updated["updatedAt"] > product["updatedAt"]


def test_an_update_may_clear_an_optional_field(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(description="old")
    body = gql(UPDATE, {"id": product["id"], "input": {"description": None}}, admin_token)
    assert body["data"]["updateProduct"]["description"] is None


def test_an_update_to_a_taken_sku_is_a_conflict(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    create_product(sku="TAKEN-1")
    other = create_product(sku="FREE-1")
    body = gql(UPDATE, {"id": other["id"], "input": {"sku": "TAKEN-1"}}, admin_token)
    assert error_code(body) == "CONFLICT"


@pytest.mark.parametrize(
    ("input_", "field"),
    [({"name": None}, "name"), ({"stock": -5}, "stock"), ({"price": "0"}, "price")],
)
def test_an_invalid_update_is_bad_user_input(
    create_product: ProductFactory,
    gql: GraphQL,
    admin_token: str,
    input_: dict[str, Any],
    field: str,
) -> None:
    product = create_product()
    body = gql(UPDATE, {"id": product["id"], "input": input_}, admin_token)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field


def test_updating_an_unknown_product_is_not_found(gql: GraphQL, admin_token: str) -> None:
    body = gql(UPDATE, {"id": "0123456789abcdef01234567", "input": {"name": "x"}}, admin_token)
    assert error_code(body) == "NOT_FOUND"


def test_a_deleted_product_disappears_and_frees_its_sku(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(sku="GONE-1")
    assert gql(DELETE, {"id": product["id"]}, admin_token)["data"]["deleteProduct"] is True
    assert gql(GET, {"id": product["id"]})["data"]["product"] is None
    assert error_code(gql(DELETE, {"id": product["id"]}, admin_token)) == "NOT_FOUND"
    assert (
        error_code(gql(UPDATE, {"id": product["id"], "input": {"name": "x"}}, admin_token))
        == "NOT_FOUND"
    )
    create_product(sku="GONE-1")


def test_deleting_a_malformed_id_is_not_found(gql: GraphQL, admin_token: str) -> None:
    assert error_code(gql(DELETE, {"id": "nope"}, admin_token)) == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"query": "{ product(id: \\"\\ud800\\") { id } }"}', 400),  # a lone surrogate
        (b"[" * 100_000 + b"]" * 100_000, 400),  # deeper than a parser's stack goes
        (b'{"query": "' + b"x" * (9 * 1024 * 1024) + b'"}', 413),
    ],
    ids=["lone-surrogate", "deep-nesting", "over-8-mib"],
)
def test_a_body_no_parser_should_take_is_refused(
    inventory: ServiceProcess, body: bytes, status: int
) -> None:
    response = httpx.post(
        inventory.base_url + "/graphql",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


VERSIONED_UPDATE = """mutation U($id: ID!, $input: UpdateProductInput!, $v: Int) {
  updateProduct(id: $id, input: $input, expectedVersion: $v) { name version } }"""
ADJUST = "mutation A($id: ID!, $d: Int!) { adjustStock(id: $id, delta: $d) { stock version } }"


def test_an_update_with_a_stale_version_changes_nothing(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(name="v0")
    first = gql(
        VERSIONED_UPDATE, {"id": product["id"], "input": {"name": "v1"}, "v": 0}, admin_token
    )
    assert first["data"]["updateProduct"] == {"name": "v1", "version": 1}
    stale = gql(
        VERSIONED_UPDATE, {"id": product["id"], "input": {"name": "v2"}, "v": 0}, admin_token
    )
    assert error_code(stale) == "PRECONDITION_FAILED"
    assert gql(GET, {"id": product["id"]})["data"]["product"]["name"] == "v1"


def test_stock_adjustments_are_relative_and_bounded(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(stock=5)
    assert gql(ADJUST, {"id": product["id"], "d": 3}, admin_token)["data"]["adjustStock"] == {
        "stock": 8,
        "version": 1,
    }
    below_zero = gql(ADJUST, {"id": product["id"], "d": -9}, admin_token)
    assert error_code(below_zero) == "BAD_USER_INPUT"
    assert below_zero["errors"][0]["extensions"]["field"] == "delta"
    unknown = gql(ADJUST, {"id": "0123456789abcdef01234567", "d": 1}, admin_token)
    assert error_code(unknown) == "NOT_FOUND"
    assert error_code(gql(ADJUST, {"id": product["id"], "d": 1})) == "UNAUTHENTICATED"


async def test_racing_stock_adjustments_all_count(
    create_product: ProductFactory, gql: GraphQL, admin_token: str
) -> None:
    product = create_product(stock=0)
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(
            *(
                client.post(
                    gql.url,
                    json={"query": ADJUST, "variables": {"id": product["id"], "d": 1}},
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
                for _ in range(20)
            )
        )
    assert gql(GET, {"id": product["id"]})["data"]["product"]["stock"] == 20
