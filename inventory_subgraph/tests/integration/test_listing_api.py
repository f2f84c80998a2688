"""Listing products: filters, sorts, offset and cursor pages, over a real database.

Each test makes its own products in a category of its own, so tests do not see each other."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from .conftest import GraphQL, error_code

ProductFactory = Callable[..., dict[str, Any]]

LIST = """
query List($filter: ProductFilter, $sort: ProductSort! = CREATED_AT_DESC, $limit: Int! = 20,
           $offset: Int, $cursor: String) {
  products(filter: $filter, sort: $sort, limit: $limit, offset: $offset, cursor: $cursor) {
    items { id name price stock createdAt } total limit offset nextCursor
  }
}
"""


@pytest.fixture
def category() -> str:
    return f"cat-{uuid.uuid4().hex[:8]}"


def listing(gql: GraphQL, **variables: Any) -> dict[str, Any]:
    body = gql(LIST, variables)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["products"]
    return page


def walk(gql: GraphQL, category: str, sort: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = listing(gql, filter={"category": category}, sort=sort, limit=limit, cursor=cursor)
        assert page["offset"] == len(seen)
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return seen


def test_the_default_order_is_newest_first(
    create_product: ProductFactory, gql: GraphQL, category: str
) -> None:
    ids = [create_product(category=category)["id"] for _ in range(3)]
    page = listing(gql, filter={"category": category})
    assert [item["id"] for item in page["items"]] == ids[::-1]
    assert (page["total"], page["limit"], page["offset"], page["nextCursor"]) == (3, 20, 0, None)


@pytest.mark.parametrize(
    "sort", ["NAME", "NAME_DESC", "PRICE", "PRICE_DESC", "CREATED_AT", "CREATED_AT_DESC"]
)
def test_every_sort_pages_through_without_repeats_or_gaps_even_with_ties(
    create_product: ProductFactory, gql: GraphQL, category: str, sort: str
) -> None:
    names = ["pear", "Apple", "apple", "banana", "Cherry", "pear", "date"]
    prices = ["3.00", "1.00", "1.00", "10.00", "2.50", "3.00", "1.00"]
    for name, price in zip(names, prices, strict=True):
        create_product(name=name, price=price, category=category)
    everything = listing(gql, filter={"category": category}, sort=sort, limit=100)["items"]
    assert len(everything) == 7
    by_cursor = walk(gql, category, sort, limit=2)
    assert by_cursor == [item["id"] for item in everything]
    by_offset = [
        item["id"]
        for offset in range(0, 7, 3)
        for item in listing(gql, filter={"category": category}, sort=sort, limit=3, offset=offset)[
            "items"
        ]
    ]
    assert by_offset == by_cursor
    if sort.startswith("PRICE"):
        values = [Decimal(item["price"]) for item in everything]
        assert values == sorted(values, reverse=sort.endswith("DESC"))
    if sort.startswith("NAME"):
        keys = [item["name"].casefold() for item in everything]
        assert keys == sorted(keys, reverse=sort.endswith("DESC"))


def test_price_sort_is_numeric_not_lexical(
    create_product: ProductFactory, gql: GraphQL, category: str
) -> None:
    for price in ["9.99", "10.00", "100.00", "2.00"]:
        create_product(price=price, category=category)
    page = listing(gql, filter={"category": category}, sort="PRICE")
    assert [item["price"] for item in page["items"]] == ["2.00", "9.99", "10.00", "100.00"]


def test_filters_combine(create_product: ProductFactory, gql: GraphQL, category: str) -> None:
    create_product(name="Red mug", price="5.00", stock=1, category=category)
    create_product(name="Blue MUG", price="15.00", stock=0, category=category)
    create_product(name="Red plate", price="20.00", stock=4, category=category)

    def names(**product_filter: Any) -> list[str]:
        page = listing(gql, filter={"category": category, **product_filter}, sort="NAME")
        return [item["name"] for item in page["items"]]

    assert names(q="mug") == ["Blue MUG", "Red mug"]
    assert names(q="RED") == ["Red mug", "Red plate"]
    assert names(minPrice="5.00", maxPrice="15.00") == ["Blue MUG", "Red mug"]
    assert names(minPrice="5.01") == ["Blue MUG", "Red plate"]
    assert names(inStock=True) == ["Red mug", "Red plate"]
    assert names(inStock=False) == ["Blue MUG"]
    assert names(q="red", inStock=True, maxPrice=10) == ["Red mug"]


@pytest.mark.parametrize("text", ["a.b", "(", "[x", "$where", ".*", "\\"])
def test_text_search_is_literal(
    create_product: ProductFactory, gql: GraphQL, category: str, text: str
) -> None:
    create_product(name=f"odd {text} name", category=category)
    create_product(name="plain", category=category)
    page = listing(gql, filter={"category": category, "q": text})
    assert [item["name"] for item in page["items"]] == [f"odd {text} name"]


def test_deleted_products_are_not_listed(
    create_product: ProductFactory, gql: GraphQL, admin_token: str, category: str
) -> None:
    keep = create_product(category=category)
    gone = create_product(category=category)
    gql("mutation($id: ID!) { deleteProduct(id: $id) }", {"id": gone["id"]}, admin_token)
    page = listing(gql, filter={"category": category})
    assert [item["id"] for item in page["items"]] == [keep["id"]]
    assert page["total"] == 1


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 0, "cursor": "abc"}, "cursor"),
        ({"cursor": "garbage"}, "cursor"),
        ({"filter": {"minPrice": "-1"}}, "min_price"),
    ],
)
def test_bad_page_parameters_are_bad_user_input(
    gql: GraphQL, variables: dict[str, Any], field: str
) -> None:
    body = gql(LIST, variables)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field


def test_a_cursor_from_another_sort_is_rejected(
    create_product: ProductFactory, gql: GraphQL, category: str
) -> None:
    for _ in range(3):
        create_product(category=category)
    cursor = listing(gql, filter={"category": category}, sort="NAME", limit=1)["nextCursor"]
    body = gql(LIST, {"filter": {"category": category}, "sort": "PRICE", "cursor": cursor})
    assert error_code(body) == "BAD_USER_INPUT"
