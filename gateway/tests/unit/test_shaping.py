"""The compiled response shape agrees with graphql-core on regular data and gives way to it
on everything else. No I/O: a schema, an operation and merged data."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, get_operation_ast, parse

from gateway.federation.plan import conflict_alias
from gateway.federation.shaping import ResponseShape, shape

SCHEMA = build_schema(
    """
    scalar Money
    enum Status { OPEN CLOSED }
    interface Node { id: ID! }
    type Book implements Node { id: ID! title: String pages: Int price: Money }
    type Film implements Node { id: ID! title: String minutes: Float status: Status }
    union Item = Book | Film
    type Shelf { name: String! items: [Item!]! nodes: [Node] best: Item }
    type Query { shelf: Shelf shelves: [Shelf] node(id: ID!): Node count: Int! }
    """
)

DATA: dict[str, Any] = {
    "shelf": {
        "name": "s1",
        "items": [
            {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412, "price": "9.99"},
            {"__typename": "Film", "id": 7, "title": "Alien", "minutes": 117, "status": "OPEN"},
        ],
        "nodes": [{"__typename": "Film", "id": "f1"}, None],
        "best": None,
        "_fed_extra": "internal, never shown",
    },
    "count": 2,
}


def _both(query: str, data: dict[str, Any], variables: dict[str, Any] | None = None) -> Any:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    compiled = ResponseShape.compile(SCHEMA, document, operation, variables or {}).shape(data)
    reference = shape(SCHEMA, document, data, variables, None)
    return compiled, reference


@pytest.mark.parametrize(
    "query",
    [
        "{ count shelf { name } }",
        "{ shelf { items { __typename ... on Book { title pages price }"
        " ... on Film { minutes status } } } }",
        "{ shelf { items { ...B ...F } __typename } }"
        " fragment B on Book { id title } fragment F on Film { id }",
        "{ shelf { nodes { id ... on Node { __typename } ... on Film { title } }"
        " best { __typename } } }",
        "{ shelf { items { ... on Node { id } } } }",
    ],
)
def test_regular_data_is_shaped_exactly_as_graphql_core_does(query: str) -> None:
    compiled, reference = _both(query, DATA)
    assert reference.errors is None
    assert compiled == reference.data
    assert list(compiled) == list(reference.data)  # field order too


def test_aliases_are_read_and_written_under_the_response_key() -> None:
    data = {"c": 3, "s": {"n": "s1", "again": "s1"}}
    compiled, reference = _both("{ c: count s: shelf { n: name, again: name } }", data)
    assert compiled == reference.data == data


def test_values_are_coerced_by_their_type() -> None:
    compiled, reference = _both("{ shelf { items { ... on Film { id minutes } } } }", DATA)
    assert compiled == reference.data
    film = compiled["shelf"]["items"][1]
    assert film == {"id": "7", "minutes": 117.0}
    assert isinstance(film["minutes"], float)


def test_skip_and_include_follow_the_variables() -> None:
    query = "query($a: Boolean!) { count @include(if: $a) shelf @skip(if: $a) { name } }"
    for value in (True, False):
        compiled, reference = _both(query, DATA, {"a": value})
        assert compiled == reference.data
    assert _both(query, DATA, {"a": True})[0] == {"count": 2}


def test_a_field_sent_under_its_conflict_alias_is_read_from_there() -> None:
    data = {"shelf": {"name": "s", "items": [{"__typename": "Book", "id": "b"}]}}
    data["shelf"]["items"][0][conflict_alias("title", "Book")] = "moved"
    compiled, reference = _both("{ shelf { items { ... on Book { title } } } }", data)
    assert compiled == reference.data == {"shelf": {"items": [{"title": "moved"}]}}


@pytest.mark.parametrize(
    "data",
    [
        {"count": None},  # null in a non-null field: the spec's null propagation
        {"count": 1, "shelf": {"name": None, "items": []}},
        {"count": 1, "shelf": {"name": "s", "items": [None]}},  # non-null list item
        {"count": "many"},  # a value Int cannot represent
        {"count": 2**40},  # nor can it hold more than 32 bits
        {"count": 1, "shelf": {"name": "s", "items": [{"__typename": "Shelf"}]}},  # not a member
        {"count": 1, "shelf": {"name": "s", "items": {"not": "a list"}}},
        {"count": 1, "shelf": {"name": "s", "items": [{"__typename": "Film", "status": "LOST"}]}},
    ],
)
def test_irregular_data_is_left_to_graphql_core(data: dict[str, Any]) -> None:
    query = "{ count shelf { name items { ... on Film { status } } } }"
    compiled, reference = _both(query, data)
    assert compiled is None
    assert reference.errors


def test_missing_nullable_fields_are_null_as_after_a_failed_subgraph() -> None:
    compiled, reference = _both("{ count shelf { name best { __typename } } }", {"count": 0})
    assert compiled == reference.data == {"count": 0, "shelf": None}


def test_introspection_is_left_to_graphql_core() -> None:
    for query in (
        "{ __schema { queryType { name } } }",
        '{ ...I } fragment I on Query { __type(name: "Book") { name } }',
    ):
        document = parse(query)
        operation = get_operation_ast(document)
        assert operation is not None
        assert ResponseShape.compile(SCHEMA, document, operation, {}).shape({}) is None
