"""Representations built from merged objects, through the executor with a scripted
transport: internal aliases go back to field names, null keys fetch nothing, nullable
requirements travel as null, objects are found through lists and nulls, and an entity's
error lands on the path of the object it was fetched for."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.federation.executor import ExecutionState, Executor, _merge, _Run
from gateway.federation.plan import Fetch, KeyField, QueryPlan
from gateway.federation.stages import stage_plan
from gateway.federation.supergraph import Subgraph
from gateway.federation.transport import SubgraphReply

KEY = KeyField("id", "_fed_id")
NESTED = KeyField("variation", "_fed_variation", (KeyField("id", "id"),))
WEIGHT = KeyField("weight", "_fed_weight", nullable=True)
ENTITIES = (
    "query($representations: [_Any!]!) { _entities(representations: $representations) "
    "{ ... on Product { price } } }"
)
URLS = {"ROOT": "http://root/graphql", "PRICES": "http://prices/graphql"}


class ScriptedTransport:
    """Answers each subgraph with a fixed body and keeps the variables it was sent."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.sent: dict[str, dict[str, Any]] = {}

    async def post(self, url: str, body: bytes, *, shareable: bool) -> SubgraphReply:
        self.sent[url] = orjson.loads(body)["variables"]
        return SubgraphReply(200, orjson.dumps(self.answers[url]))

    async def close(self) -> None:
        return None


async def _run(
    root_data: dict[str, Any],
    path: tuple[str, ...],
    *,
    prices: dict[str, Any] | None = None,
    representation: tuple[KeyField, ...] = (KEY, NESTED, WEIGHT),
) -> tuple[ExecutionState, ScriptedTransport]:
    entities = Fetch(
        graph="PRICES",
        operation=ENTITIES,
        entity_type="Product",
        path=path,
        accepts=("Product",),
        representation=representation,
    )
    plan = QueryPlan("query", [Fetch(graph="ROOT", operation="{ x }", children=[entities])])
    transport = ScriptedTransport(
        {URLS["ROOT"]: {"data": root_data}, URLS["PRICES"]: prices or {"data": {}}}
    )
    subgraphs = {graph: Subgraph(graph, graph.lower(), url) for graph, url in URLS.items()}
    executor = Executor(subgraphs, URLS, transport)  # type: ignore[arg-type]
    return await executor.execute(stage_plan(plan), {}), transport


def _product(key: str | None, **fields: Any) -> dict[str, Any]:
    return {"__typename": "Product", "_fed_id": key, **fields}


async def test_a_representation_maps_internal_aliases_back_to_field_names() -> None:
    product = _product("p1", _fed_variation={"id": "v1"}, _fed_weight=None, name="Table")
    _, transport = await _run({"products": [product]}, ("products",))
    assert list(transport.sent[URLS["PRICES"]].values()) == [
        [{"__typename": "Product", "id": "p1", "variation": {"id": "v1"}, "weight": None}]
    ]


async def test_a_null_key_names_no_entity() -> None:
    products = [_product(None, _fed_variation={"id": "v"}), {"__typename": "Product"}]
    state, transport = await _run({"products": products}, ("products",))
    assert URLS["PRICES"] not in transport.sent and state.errors == []


async def test_objects_are_found_through_lists_and_nulls_and_errors_land_on_their_path() -> None:
    first = _product("x1", _fed_variation={"id": "v"})
    second = _product("x2", _fed_variation={"id": "v"})
    data = {"a": [{"b": first}, None, {"b": None}, {"b": [second]}]}
    answer = {
        "data": {"_e0": [{"price": 1}, None]},
        "errors": [{"message": "no price", "path": ["_e0", 1, "price"]}],
    }
    state, transport = await _run(data, ("a", "b"), prices=answer)
    (sent,) = transport.sent[URLS["PRICES"]].values()
    assert [representation["id"] for representation in sent] == ["x1", "x2"]
    merged = state.data["a"]
    assert merged[0]["b"]["price"] == 1 and "price" not in merged[3]["b"][0]
    assert [error["path"] for error in state.errors] == [["a", 3, "b", 0, "price"]]


async def test_plain_keys_send_each_entity_once_and_every_object_gets_its_answer() -> None:
    # all key fields plain (no selections): found by their values, not by a built dict
    products = [
        _product("p1", _fed_weight=2),
        _product("p2", _fed_weight=None),
        _product("p1", _fed_weight=2),  # the same entity elsewhere in the answer
        _product(None, _fed_weight=1),  # a null key: nothing to fetch for it
        {"__typename": "Other", "_fed_id": "p3"},  # not a type the fetch accepts
        _product("p1", _fed_weight=3),  # the same key, another requirement: its own
    ]
    answer = {"data": {"_e0": [{"price": 10}, {"price": 20}, {"price": 30}]}}
    state, transport = await _run(
        {"products": products}, ("products",), prices=answer, representation=(KEY, WEIGHT)
    )
    (sent,) = transport.sent[URLS["PRICES"]].values()
    assert sent == [
        {"__typename": "Product", "id": "p1", "weight": 2},
        {"__typename": "Product", "id": "p2", "weight": None},
        {"__typename": "Product", "id": "p1", "weight": 3},
    ]
    prices = [product.get("price") for product in state.data["products"]]
    assert prices == [10, 20, 10, None, None, 30]


async def test_a_plain_key_holding_a_list_is_sent_once_too() -> None:
    tags = KeyField("tags", "_fed_tags")
    products = [_product("p1", _fed_tags=["a", "b"]), _product("p1", _fed_tags=["a", "b"])]
    answer = {"data": {"_e0": [{"price": 5}]}}
    state, transport = await _run(
        {"products": products}, ("products",), prices=answer, representation=(KEY, tags)
    )
    (sent,) = transport.sent[URLS["PRICES"]].values()
    assert sent == [{"__typename": "Product", "id": "p1", "tags": ["a", "b"]}]
    assert [product["price"] for product in state.data["products"]] == [5, 5]


def test_objects_found_at_a_path_are_walked_again_once_a_merge_writes_a_key_on_it() -> None:
    """The objects at each path are kept for the fetches that follow (`_Run.found`), and
    dropped for every path through a key a merge writes, at any depth."""
    product = {"__typename": "Product", "id": "p1"}
    data: dict[str, Any] = {"shelf": {"items": [[product], None, {"__typename": "Other"}]}}
    run = _Run(ExecutionState(data), [], {})
    found = run.objects_at(("shelf", "items"))
    assert found == [product, {"__typename": "Other"}]
    assert run.objects_at(("shelf", "items")) is found  # kept
    assert run.objects_at(("shelf",)) == [data["shelf"]]  # its prefix was kept on the way
    written: set[str] = {"price"}
    _merge(product, {"price": 3}, written)
    run.wrote(written)
    assert run.objects_at(("shelf", "items")) is found  # nothing on the path was written
    # a nested merge writes `items` below `shelf`: both paths through it are walked anew
    written = {"shelf"}
    _merge(data, {"shelf": {"items": [{"__typename": "Product", "id": "p2"}]}}, written)
    assert "items" in written
    run.wrote(written)
    assert run.objects_at(("shelf", "items")) == [{"__typename": "Product", "id": "p2"}]


def test_a_deferred_part_keeps_no_objects() -> None:
    run = _Run(ExecutionState({"a": {"b": 1}}), [], {}, found=None)
    assert run.objects_at(("a",)) == [{"b": 1}]
    assert run.found is None


async def test_a_nullable_single_key_travels_as_null_and_is_sent_once() -> None:
    root = {"items": [{"__typename": "Product"}, {"__typename": "Product", "_fed_weight": None}]}
    state, transport = await _run(
        root,
        ("items",),
        prices={"data": {"_e0": [{"price": 1}]}},
        representation=(WEIGHT,),
    )
    (sent,) = transport.sent[URLS["PRICES"]].values()
    assert sent == [{"__typename": "Product", "weight": None}]
    assert [item.get("price") for item in state.data["items"]] == [1, 1]


@pytest.mark.parametrize(
    "keys",
    [
        ["p2", "p1", "p2", "p3", "p1"],  # plain strings: grouped in C
        ["p2", 1, "p2", "p3", 1],  # a string and an int do not sort: object by object
        [2.5, 1, 2.5, 3, 1.0],  # 1 and 1.0 are one key either way, as in a dict
    ],
)
async def test_representations_go_first_seen_first_and_each_object_gets_its_answer(
    keys: list[Any],
) -> None:
    products = [_product(key) for key in keys]
    answer = {"data": {"_e0": [{"price": 10}, {"price": 20}, {"price": 30}]}}
    state, transport = await _run(
        {"products": products}, ("products",), prices=answer, representation=(KEY,)
    )
    (sent,) = transport.sent[URLS["PRICES"]].values()
    assert [representation["id"] for representation in sent] == [keys[0], keys[1], keys[3]]
    prices = [product.get("price") for product in state.data["products"]]
    assert prices == [10, 20, 10, 30, 20]


TAGS = KeyField("tags", "_fed_tags")


@pytest.mark.parametrize(
    ("product", "representation", "sent"),
    [
        (_product("p1"), (KEY,), [{"__typename": "Product", "id": "p1"}]),
        (_product(None), (KEY,), None),  # a null key names no entity
        ({"__typename": "Product"}, (WEIGHT,), [{"__typename": "Product", "weight": None}]),
        (
            _product("p1", _fed_weight=None),
            (KEY, WEIGHT),
            [{"__typename": "Product", "id": "p1", "weight": None}],
        ),
        (_product(None, _fed_weight=2), (KEY, WEIGHT), None),
        (
            _product("p1", _fed_tags=["a"]),
            (KEY, TAGS),
            [{"__typename": "Product", "id": "p1", "tags": ["a"]}],
        ),
        ({"__typename": "Other", "_fed_id": "p1"}, (KEY,), None),  # not a type it is for
    ],
)
async def test_an_entity_found_alone_at_its_path_is_sent_as_among_many(
    product: dict[str, Any], representation: tuple[KeyField, ...], sent: Any
) -> None:
    # one object at the path takes its own way (no grouping): the same representation
    answer = {"data": {"_e0": [{"price": 7}]}}
    state, transport = await _run(
        {"product": product}, ("product",), prices=answer, representation=representation
    )
    if sent is None:
        assert URLS["PRICES"] not in transport.sent
        assert "price" not in state.data["product"]
    else:
        assert list(transport.sent[URLS["PRICES"]].values()) == [sent]
        assert state.data["product"]["price"] == 7


@pytest.mark.parametrize("copies", [1, 2])
async def test_an_answer_on_fields_an_object_has_is_merged_into_them(copies: int) -> None:
    # one object or several for the representation: either way, merged field by field
    products = [_product("p1", details={"a": 1}) for _ in range(copies)]
    answer = {"data": {"_e0": [{"details": {"b": 2}, "price": 3}]}}
    state, _ = await _run(
        {"products": products}, ("products",), prices=answer, representation=(KEY,)
    )
    for product in state.data["products"]:
        assert product["details"] == {"a": 1, "b": 2} and product["price"] == 3
