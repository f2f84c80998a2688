"""The native decoding of a whole subgraph answer (native_shape.py): when the plan lets it
apply, what it answers is what the Python walk answers, key order included; whatever the
walk would not pass as it is (a null where the schema says non-null, a value of another
type, subgraph errors) goes the regular way; and a plan or shape it does not cover is never
compiled. The pipeline answers the same with it and without it (msgspec absent)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from graphql import GraphQLEnumType, GraphQLEnumValue, GraphQLScalarType, get_operation_ast, parse

from gateway.federation import native_shape
from gateway.federation.executor import Executor
from gateway.federation.native_shape import DirectAnswer, MergedAnswer, _leaf_type, _NotNative
from gateway.federation.pipeline import Gateway
from gateway.federation.planner import plan_operation
from gateway.federation.shaping import ResponseShape
from gateway.federation.stages import StagedPlan, stage_plan
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphReply, SubgraphTransport

SUPERGRAPH = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean
) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!
) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false
) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]
) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph {
  SHELVES @join__graph(name: "shelves", url: "http://shelves/graphql")
  RATINGS @join__graph(name: "ratings", url: "http://ratings/graphql")
}
scalar Money @join__type(graph: SHELVES)
enum Status @join__type(graph: SHELVES) {
  OPEN @join__enumValue(graph: SHELVES)
  CLOSED @join__enumValue(graph: SHELVES)
}
interface Item @join__type(graph: SHELVES) { id: ID! }
type Book implements Item
  @join__type(graph: SHELVES) @join__implements(graph: SHELVES, interface: "Item") {
  id: ID!
  title: String!
}
type Shelf @join__type(graph: SHELVES, key: "id") @join__type(graph: RATINGS, key: "id") {
  id: ID!
  name: String @join__field(graph: SHELVES)
  count: Int! @join__field(graph: SHELVES)
  ratio: Float @join__field(graph: SHELVES)
  open: Boolean @join__field(graph: SHELVES)
  status: Status @join__field(graph: SHELVES)
  price: Money @join__field(graph: SHELVES)
  tags: [String] @join__field(graph: SHELVES)
  books: [Book!]! @join__field(graph: SHELVES)
  rating: Int @join__field(graph: RATINGS)
}
type Query @join__type(graph: SHELVES) @join__type(graph: RATINGS) {
  shelf: Shelf @join__field(graph: SHELVES)
  shelves: [Shelf!]! @join__field(graph: SHELVES)
  item: Item @join__field(graph: SHELVES)
}
"""

SUPER = Supergraph.parse(SUPERGRAPH)

# the client's operation, with what it may hold that the walk resolves: aliases, a fragment
# on the object's own type, @include, __typename
QUERY = """
query ($more: Boolean!) {
  shelf { ...S label: name books { title id __typename } tags price @include(if: $more) }
  all: shelves { count ratio }
}
fragment S on Shelf { id count ratio open status }
"""

SHELF: dict[str, Any] = {
    "id": "s1",
    "count": 3,
    "ratio": 0.5,
    "open": True,
    "status": "OPEN",
    "label": "Top",
    "books": [{"title": "Dune", "id": "b1", "__typename": "Book"}],
    "tags": ["a", None],
    "price": {"amount": 12, "currency": "EUR"},
}
DATA: dict[str, Any] = {"shelf": SHELF, "all": [{"count": 1, "ratio": 2.0}]}


def _shape_and_steps(
    query: str, variables: dict[str, Any] | None = None
) -> tuple[ResponseShape, StagedPlan]:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    values = variables or {}
    staged = stage_plan(plan_operation(SUPER, document, operation, values, {}))
    return ResponseShape.compile(SUPER.api_schema, document, operation, values), staged


def _compiled(query: str, variables: dict[str, Any] | None = None) -> DirectAnswer | None:
    return DirectAnswer.compile(*_shape_and_steps(query, variables))


def _walked(query: str, data: dict[str, Any], variables: dict[str, Any]) -> Any:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    return ResponseShape.compile(SUPER.api_schema, document, operation, variables).shape(data)


def _direct(data: Any, variables: dict[str, Any] | None = None, **answer: Any) -> Any:
    direct = _compiled(QUERY, variables or {"more": True})
    assert direct is not None
    decoded = direct.decode(orjson.dumps({"data": data, **answer}))
    return None if decoded is None else orjson.loads(decoded)


@pytest.mark.parametrize("more", [True, False])
def test_a_regular_answer_is_what_the_walk_makes_of_it_key_order_included(more: bool) -> None:
    variables = {"more": more}
    # what the subgraph answers: `price` only when asked for
    data = DATA if more else {**DATA, "shelf": {k: v for k, v in SHELF.items() if k != "price"}}
    walked = _walked(QUERY, data, variables)
    direct = _direct(data, variables)
    assert direct == walked
    assert orjson.dumps(direct) == orjson.dumps(walked)  # same keys in the same order
    assert ("price" in direct["shelf"]) is more


def test_keys_not_selected_are_dropped_and_the_order_is_the_clients() -> None:
    shuffled = {
        "all": [{"ratio": 2, "count": 1, "_fed_id": "x"}],
        "shelf": {"__typename": "Shelf", **dict(reversed(list(SHELF.items())))},
    }
    direct = _direct(shuffled)
    walked = _walked(QUERY, shuffled, {"more": True})
    assert orjson.dumps(direct) == orjson.dumps(walked)
    assert list(direct) == ["shelf", "all"]
    assert direct["all"] == [{"count": 1, "ratio": 2.0}]  # a Float given as 1 is 1.0


def test_an_absent_nullable_field_is_null_as_the_walk_reads_it() -> None:
    partial = {"shelf": {k: v for k, v in SHELF.items() if k != "label"}, "all": []}
    assert _direct(partial) == _walked(QUERY, partial, {"more": True})
    assert _direct(partial)["shelf"]["label"] is None


def _with(**changes: Any) -> dict[str, Any]:
    return {"shelf": {**SHELF, **changes}, "all": []}


@pytest.mark.parametrize(
    "data",
    [
        _with(count=None),  # null where the schema says non-null
        {"shelf": {k: v for k, v in SHELF.items() if k != "count"}, "all": []},  # absent
        _with(count=2**31),  # beyond GraphQL's 32-bit Int
        _with(count="3"),  # an Int as a string: graphql-core refuses or coerces it
        _with(count=3.0),
        _with(count=True),
        _with(ratio="0.5"),
        _with(open=1),
        _with(status="HALF_OPEN"),  # no value of the enum
        _with(label=7),  # graphql-core would coerce it to "7"
        _with(books=[None]),  # a null item in a list of non-null items
        _with(books=[{"title": "Dune", "id": "b1", "__typename": "Film"}]),
        _with(books={"title": "Dune", "id": "b1"}),  # not a list
        _with(price=None, count=None),
        {"shelf": {**SHELF}, "all": None},  # a non-null list that is null
    ],
)
def test_what_the_walk_would_not_pass_as_it_is_goes_the_regular_way(data: Any) -> None:
    assert _direct(data) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"data": null}',
        b'{"errors": [{"message": "down"}]}',
        orjson.dumps({"data": DATA, "errors": [{"message": "partly"}]}),
        b'{"data": {"shelf": null, "all": [{"count": 1, "ratio": 1e400}]}}',  # inf
    ],
)
def test_errors_and_bodies_that_are_no_answer_go_the_regular_way(body: bytes) -> None:
    direct = _compiled(QUERY, {"more": True})
    assert direct is not None
    assert direct.decode(body) is None


def test_subgraph_extensions_and_empty_errors_do_not_stop_it() -> None:
    direct = _direct(DATA, errors=[], extensions={"tracing": 1})
    assert direct == _walked(QUERY, DATA, {"more": True})


def test_a_custom_scalar_passes_as_it_is_but_never_null_where_non_null() -> None:
    assert _direct(_with(price=[1, "x", {"a": None}]))["shelf"]["price"] == [1, "x", {"a": None}]
    assert _direct(_with(price=None))["shelf"]["price"] is None  # Money is nullable here


@pytest.mark.parametrize(
    "query",
    [
        "{ shelf { name rating } }",  # a second fetch, to another subgraph
        "{ item { id } }",  # an abstract type: the fields depend on __typename
        "{ __schema { queryType { name } } }",  # introspection: graphql-core answers it
        '{ shelf { name } __type(name: "Shelf") { name } }',
    ],
)
def test_plans_and_shapes_it_does_not_cover_are_not_compiled(query: str) -> None:
    assert _compiled(query) is None


def test_it_is_compiled_for_one_root_fetch_over_object_types() -> None:
    assert _compiled("{ shelves { id name books { id } } }") is not None
    assert _compiled("{ __typename shelf { __typename id } }") is not None


def test_conditions_on_an_object_are_resolved_once_when_compiled() -> None:
    """At an object type's position every type condition is known to apply or not before
    any data is seen (an interface it implements applies, another object type does not)."""
    query = "{ shelf { books { ... on Item { id } ... on Book { title } title2: title } } }"
    direct = _compiled(query)
    assert direct is not None
    data = {"shelf": {"books": [{"id": "b1", "title": "Dune", "title2": "Dune"}]}}
    decoded = direct.decode(orjson.dumps({"data": data}))
    assert decoded is not None
    assert orjson.loads(decoded) == _walked(query, data, {}) == data


def test_the_subgraph_asked_exactly_the_clients_selection_is_passed_through() -> None:
    """@include(if: false) resolved by the planner: the subgraph is asked exactly what the
    client's answer holds (fragment spread inline, same aliases, same order)."""
    exact = _compiled(QUERY, {"more": False})
    assert exact is not None and exact.passthrough
    shelf = {k: v for k, v in SHELF.items() if k != "price"}
    data = {"shelf": {**shelf, "ratio": 1}, "all": [{"count": 1, "ratio": 2}]}
    body = orjson.dumps({"data": data})
    assert exact.decode(body) == orjson.dumps(data)  # its own bytes: 2 stays 2, not 2.0
    # checked all the same: a null where the schema says non-null, a key not asked for
    assert exact.decode(orjson.dumps({"data": {**data, "all": [{"count": None}]}})) is None
    assert exact.decode(orjson.dumps({"data": {**data, "extra": 1}})) is None
    assert exact.decode(orjson.dumps({"data": data, "more": 1})) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": ' + orjson.dumps(DATA) + b"}",  # not exactly `{"data":`
        b'{"data":' + orjson.dumps(DATA) + b',"errors":[]}',
        b'{"data":' + orjson.dumps(DATA) + b',"extensions":{"tracing":1}}',
        b'{"data":{"shelf":null,"all":[]},"data":' + orjson.dumps(DATA) + b"}",  # twice
    ],
)
def test_an_answer_that_is_not_exactly_its_data_is_encoded_from_what_was_checked(
    body: bytes,
) -> None:
    exact = _compiled(QUERY, {"more": False})
    assert exact is not None and exact.passthrough
    shelf = {k: v for k, v in SHELF.items() if k != "price"}
    body = body.replace(orjson.dumps(SHELF), orjson.dumps(shelf))
    decoded = exact.decode(body)
    assert decoded is not None
    expected = _walked(QUERY, {**DATA, "shelf": shelf}, {"more": False})
    assert orjson.dumps(orjson.loads(decoded)) == orjson.dumps(expected)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (QUERY, {"more": True}),  # the subgraph gets the @include
        ("{ shelf { __typename id } }", {}),  # the planner adds nothing, but: see below
        ("{ shelves { books { ... on Item { id } } } }", {}),  # the condition is sent
    ],
)
def test_passthrough_only_when_the_operation_text_asks_exactly_that(
    query: str, variables: dict[str, Any]
) -> None:
    compiled = _compiled(query, variables)
    assert compiled is not None
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    staged = stage_plan(plan_operation(SUPER, document, operation, variables, {}))
    sent = staged.stages[0].requests[0].operation
    asks_exactly = "@" not in sent and "..." not in sent
    assert compiled.passthrough is asks_exactly


def test_without_msgspec_nothing_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_shape, "msgspec", None)
    assert _compiled("{ shelves { id } }") is None


def test_leaves_only_the_walk_maps_are_not_compiled() -> None:
    renamed = GraphQLEnumType("Level", {"LOW": GraphQLEnumValue(1), "HIGH": GraphQLEnumValue(2)})
    with pytest.raises(_NotNative):
        _leaf_type(renamed, None)
    serialized = GraphQLScalarType("Stamp", serialize=lambda value: str(value))
    with pytest.raises(_NotNative):
        _leaf_type(serialized, None)


# -- through the pipeline: the same answer with it (encoded=True) and without it -----------
class Canned(SubgraphTransport):
    """Each subgraph answers the same bytes to every request."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__(timeout=5, deduplicate=False)
        self.answers = answers
        self.calls = 0

    async def post(self, url: str, body: bytes, *, shareable: bool) -> SubgraphReply:
        self.calls += 1
        return SubgraphReply(200, self.answers[url])


async def _answers(body: bytes, query: str = QUERY) -> tuple[Any, Any, int]:
    """(the encoded path's answer, parsed; the regular path's; subgraph calls of the first)"""
    transport = Canned({"http://shelves/graphql": body})
    urls = {graph: sub.url for graph, sub in SUPER.subgraphs.items()}
    gateway = Gateway(SUPER, Executor(SUPER.subgraphs, urls, transport))
    prepared = gateway.prepare(query, None)
    admitted = gateway.admit(prepared, {"more": True}, None)
    encoded = await gateway.run(prepared, admitted, {"more": True}, None, encoded=True)
    calls = transport.calls
    regular = await gateway.run(prepared, admitted, {"more": True}, None)
    return orjson.loads(orjson.dumps(encoded)), regular, calls


@pytest.fixture(params=["native", "python"])
def native(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every pipeline test runs with msgspec and as without it (the pure-Python path)."""
    if request.param == "python":
        monkeypatch.setattr(native_shape, "msgspec", None)
    return bool(request.param == "native")


@pytest.mark.parametrize(
    "answer",
    [
        {"data": DATA},
        {"data": _with(count=None)},  # null propagation: graphql-core's error and path
        {"data": _with(label=7)},  # coerced by graphql-core
        {"data": {"shelf": None, "all": []}, "errors": [{"message": "no", "path": ["shelf"]}]},
        {"errors": [{"message": "down"}]},
        {"data": None},
    ],
)
async def test_the_pipeline_answers_the_same_either_way(native: bool, answer: Any) -> None:
    encoded, regular, calls = await _answers(orjson.dumps(answer))
    assert orjson.dumps(encoded) == orjson.dumps(regular)
    assert calls == 1  # one request, whichever way the answer goes


async def test_the_pipeline_answers_a_body_that_is_no_json_the_same_either_way(
    native: bool,
) -> None:
    encoded, regular, _ = await _answers(b"<html>busy</html>")
    assert encoded == regular
    assert encoded["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_the_encoded_answer_carries_already_encoded_data_only_when_native() -> None:
    transport = Canned({"http://shelves/graphql": orjson.dumps({"data": DATA})})
    urls = {graph: sub.url for graph, sub in SUPER.subgraphs.items()}
    gateway = Gateway(SUPER, Executor(SUPER.subgraphs, urls, transport))
    prepared = gateway.prepare(QUERY, None)
    admitted = gateway.admit(prepared, {"more": True}, None)
    encoded = await gateway.run(prepared, admitted, {"more": True}, None, encoded=True)
    assert isinstance(encoded["data"], orjson.Fragment)
    regular = await gateway.run(prepared, admitted, {"more": True}, None)
    assert isinstance(regular["data"], dict)  # in-process callers read it


# -- the merged data of several fetches (MergedAnswer) --------------------------------------
def _merged(query: str, variables: dict[str, Any] | None = None) -> MergedAnswer | None:
    return MergedAnswer.compile(*_shape_and_steps(query, variables))


def test_merged_data_is_encoded_as_the_walk_shapes_it_key_order_included() -> None:
    merged = _merged(QUERY, {"more": True})
    assert merged is not None
    shuffled = {
        "all": [{"ratio": 2, "count": 1, "_fed_id": "x"}],
        "shelf": {"__typename": "Shelf", **dict(reversed(list(SHELF.items())))},
    }
    for data in (DATA, shuffled):
        encoded = merged.encode(data)
        assert encoded == orjson.dumps(_walked(QUERY, data, {"more": True}))


@pytest.mark.parametrize(
    "data",
    [
        _with(count=None),
        {"shelf": {k: v for k, v in SHELF.items() if k != "count"}, "all": []},
        _with(count=2**31),
        _with(count=True),
        _with(count=3.0),
        _with(label=7),
        _with(status="HALF_OPEN"),
        _with(books=[None]),
        _with(books=[{"title": "Dune", "id": "b1", "__typename": "Film"}]),
        _with(ratio=float("inf")),
        {"shelf": {**SHELF}, "all": None},
    ],
)
def test_merged_data_the_walk_would_not_pass_as_it_is_goes_the_regular_way(data: Any) -> None:
    merged = _merged(QUERY, {"more": True})
    assert merged is not None
    assert merged.encode(data) is None


def test_merged_data_too_deep_for_native_code_goes_the_regular_way() -> None:
    merged = _merged("{ shelf { price } }")
    assert merged is not None
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    assert merged.encode({"shelf": {"price": deep}}) is None


def test_merged_is_compiled_for_several_fetches_but_not_for_conflicting_keys() -> None:
    assert _merged("{ shelf { name rating } }") is not None
    assert _merged("{ item { id } }") is None  # abstract
    assert _merged("{ __schema { queryType { name } } }") is None


def test_a_field_sent_under_a_conflict_alias_is_left_to_the_walk() -> None:
    """The walk reads a field under its response key or under the alias the planner sent
    it as (`conflict_alias`); a Struct field has one name, so such a plan is not compiled."""
    document = parse("{ shelf { name rating } }")
    operation = get_operation_ast(document)
    assert operation is not None
    staged = stage_plan(plan_operation(SUPER, document, operation, {}, {}))
    shape = ResponseShape.compile(SUPER.api_schema, document, operation, {})
    assert MergedAnswer.compile(shape, staged) is not None
    request = staged.stages[0].requests[0]
    renamed = replace(request, operation=request.operation + " _fed_name__Shelf: name")
    first = replace(staged.stages[0], requests=(renamed, *staged.stages[0].requests[1:]))
    assert MergedAnswer.compile(shape, replace(staged, stages=(first, *staged.stages[1:]))) is None


def test_without_msgspec_no_merged_answer_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_shape, "msgspec", None)
    assert _merged("{ shelf { name rating } }") is None


MERGED_QUERY = "{ shelf { id name rating status } }"
RATINGS = "http://ratings/graphql"


async def _merged_answers(shelves: Any, ratings: Any) -> tuple[Any, Any]:
    """(the encoded path's answer, as the client gets it; the regular path's, encoded)"""
    transport = Canned(
        {"http://shelves/graphql": orjson.dumps(shelves), RATINGS: orjson.dumps(ratings)}
    )
    urls = {graph: sub.url for graph, sub in SUPER.subgraphs.items()}
    gateway = Gateway(SUPER, Executor(SUPER.subgraphs, urls, transport))
    prepared = gateway.prepare(MERGED_QUERY, None)
    admitted = gateway.admit(prepared, {}, None)
    first = await gateway.run(prepared, admitted, {}, None, encoded=True)  # the walk's
    encoded = await gateway.run(prepared, admitted, {}, None, encoded=True)
    regular = await gateway.run(prepared, admitted, {}, None)
    assert orjson.dumps(first) == orjson.dumps(regular)
    return orjson.dumps(encoded), orjson.dumps(regular)


SHELF_ANSWER = {
    "data": {
        "shelf": {
            "id": "s1",
            "name": "Top",
            "status": "OPEN",
            "__typename": "Shelf",
            "_fed_id": "s1",
        }
    }
}


@pytest.mark.parametrize(
    ("shelves", "ratings"),
    [
        (SHELF_ANSWER, {"data": {"_e0": [{"rating": 4}]}}),
        (SHELF_ANSWER, {"data": {"_e0": [{"rating": "four"}]}}),  # coerced or refused
        (
            SHELF_ANSWER,
            {"data": {"_e0": [None]}, "errors": [{"message": "no", "path": ["_e0", 0]}]},
        ),
        (SHELF_ANSWER, {"errors": [{"message": "down"}]}),
        (
            {"data": {"shelf": {**SHELF_ANSWER["data"]["shelf"], "status": "AJAR"}}},
            {"data": {"_e0": [{"rating": 1}]}},
        ),
        ({"data": {"shelf": None}}, {"data": {"_e0": []}}),
    ],
)
async def test_several_fetches_answer_the_same_either_way(
    native: bool, shelves: Any, ratings: Any
) -> None:
    encoded, regular = await _merged_answers(shelves, ratings)
    assert encoded == regular


async def test_merged_data_is_encoded_natively_only_when_msgspec_is_there(native: bool) -> None:
    transport = Canned(
        {
            "http://shelves/graphql": orjson.dumps(SHELF_ANSWER),
            RATINGS: orjson.dumps({"data": {"_e0": [{"rating": 4}]}}),
        }
    )
    urls = {graph: sub.url for graph, sub in SUPER.subgraphs.items()}
    gateway = Gateway(SUPER, Executor(SUPER.subgraphs, urls, transport))
    prepared = gateway.prepare(MERGED_QUERY, None)
    admitted = gateway.admit(prepared, {}, None)
    first = await gateway.run(prepared, admitted, {}, None, encoded=True)
    assert isinstance(first["data"], dict)  # a plan's first answer: its types not yet built
    encoded = await gateway.run(prepared, admitted, {}, None, encoded=True)
    assert isinstance(encoded["data"], orjson.Fragment) is native
    assert transport.calls == 4
