"""An operation's cost counts what the request really asks: its variables' values, the list
sizes of `@listSize` and the weights of `@cost` read from the supergraph. No I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, build_schema, get_introspection_query, parse

from gateway.federation.cost import COST_CEILING, compile_cost
from gateway.federation.demand import DemandWeights, ListSize
from gateway.federation.executor import Executor
from gateway.federation.limits import OperationLimits
from gateway.federation.pipeline import Gateway, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"

SDL = """
directive @cost(weight: Int!)
  on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(
  assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true
) on FIELD_DEFINITION

type Query {
  page(limit: Int! = 20, first: Int, filter: Filter): Page
    @listSize(slicingArguments: ["limit", "first"], sizedFields: ["items"])
  tags: [Tag!]! @listSize(assumedSize: 3)
  things(first: Int): [Thing!]!
  plain: [Thing!]!
  expensive: Int @cost(weight: 7)
  search(text: String @cost(weight: 4)): Int
}
type Page { items: [Thing!]! count: Int! @cost(weight: 50) }
type Thing { id: ID! lines: [Line!]! @listSize(assumedSize: 5) }
type Line @cost(weight: 0) { name: String }
type Tag { name: String }
input Filter { q: String @cost(weight: 9) category: String }
"""


def _cost(query: str, variables: dict[str, Any] | None = None) -> int:
    schema = build_schema(SDL)
    weights = DemandWeights.of(parse(SDL))
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return compile_cost(schema, weights, document, operation, assumed_list_size=10).of(
        variables or {}
    )


def test_the_directives_are_read_from_the_schema() -> None:
    weights = DemandWeights.of(parse(SDL))
    assert weights.fields[("Page", "count")] == 50
    assert weights.fields[("Filter", "q")] == 9
    assert weights.types == {"Line": 0}
    assert weights.arguments == {("Query", "search", "text"): 4}
    assert weights.list_sizes[("Query", "page")] == ListSize(None, ("limit", "first"), ("items",))
    assert weights.list_sizes[("Thing", "lines")] == ListSize(5, (), ())


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        # objects 1, scalars 0
        ("{ page { items { id } } }", None, 1 + 20),  # `limit` defaults to 20
        ("{ page(limit: 3) { items { id } } }", None, 1 + 3),
        ("{ page(limit: 3, first: 8) { items { id } } }", None, 1 + 8),  # the largest
        ("{ page(limit: 2) { count } }", None, 1 + 50),  # @cost on a field
        ("{ expensive }", None, 7),
        ("{ tags { name } }", None, 3),  # assumedSize
        ("{ things(first: 4) { id } }", None, 4),  # sliced without @listSize
        ("{ plain { id } }", None, 10),  # the gateway's assumed size
        ("{ plain { lines { name } } }", None, 10),  # a type of weight 0, five times
        ("{ page(limit: 2) { items { lines { name } } } }", None, 1 + 2),
        # the variables' values
        ("query($l: Int = 1) { page(limit: $l) { items { id } } }", {"l": 100}, 1 + 100),
        ("query($l: Int!) { page(limit: $l) { items { id } } }", {"l": 40}, 1 + 40),
        # arguments and input fields with a weight count when given
        ('{ search(text: "x") }', None, 4),
        ("{ search }", None, 0),
        ('{ page(limit: 1, filter: {q: "x"}) { count } }', None, 1 + 50 + 9),
        ('{ page(limit: 1, filter: {category: "x"}) { count } }', None, 1 + 50),
        ("query($f: Filter) { page(limit: 1, filter: $f) { count } }", {"f": {"q": "x"}}, 60),
        ("query($f: Filter) { page(limit: 1, filter: $f) { count } }", {}, 51),
        ("query($q: String) { page(limit: 1, filter: {q: $q}) { count } }", {"q": "x"}, 60),
        # fragments, spread often, sized by the field they are spread in
        (
            "query($n: Int) { a: page(limit: $n) { ...P } b: page(limit: 2) { ...P } }"
            " fragment P on Page { items { id } }",
            {"n": 30},
            (1 + 30) + (1 + 2),
        ),
        ("{ __typename page(limit: 1) { __typename } }", None, 1),
    ],
)
def test_the_cost_counts_what_the_request_asks(
    query: str, variables: dict[str, Any] | None, cost: int
) -> None:
    assert _cost(query, variables) == cost


def test_a_fragment_spread_everywhere_is_costed_once_per_request() -> None:
    fragments = " ".join(
        f"fragment F{i} on Page {{ items {{ id }} ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    )
    query = (
        "query($n: Int) { page(limit: $n) { ...F0 } } " + fragments + " fragment F40 on Page "
        "{ count }"
    )
    assert _cost(query, {"n": 1}) == 1 + sum(2**i for i in range(40)) + 2**40 * 50


@pytest.fixture
def gateway() -> Gateway:
    supergraph = Supergraph.parse(SUPERGRAPH.read_text())
    executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
    return Gateway(supergraph, executor, OperationLimits(max_cost=1_000))


ALIASES = (
    "query($l: Int = 1) { "
    + " ".join(f"a{i}: products(limit: $l) {{ items {{ id }} }}" for i in range(10))
    + " }"
)


def test_a_variable_cannot_hide_the_cost_of_a_large_page(gateway: Gateway) -> None:
    prepared = gateway.prepare(ALIASES, None)
    assert gateway.admit(prepared, {}, None).cost == 10 * (1 + 1)  # the default, 1
    with pytest.raises(RequestError) as refused:
        gateway.admit(prepared, {"l": 100}, None)  # 1,000 products
    (error,) = refused.value.errors
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 10 * (1 + 100)


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ products { total } }", 1 + 50),
        ('{ products(limit: 5, filter: {q: "lamp"}) { items { id } } }', 1 + 5 + 50),
        ("{ orders(limit: 10) { total items { id items { name } } } }", 1 + 50 + 10),
        # 10 lines assumed an order, each a product from the inventory
        ("{ orders { items { items { product { name } } } } }", 1 + 20 * (1 + 10)),
        ("{ product(id: 1) { name } }", 1),
    ],
)
def test_the_supergraph_declares_what_costs_the_database_work(
    gateway: Gateway, query: str, cost: int
) -> None:
    assert gateway.admit(gateway.prepare(query, None), {}, None).cost == cost


def test_a_cost_past_what_json_carries_exactly_is_counted_as_the_ceiling() -> None:
    # lists nested in lists multiply; a number past 2^53 would be refused all the same, and
    # a number past 2^64 could not even be encoded in the answer that refuses it
    query = "query($n: Int) { things(first: $n) { id } }"
    assert _cost(query, {"n": 2**53 - 2}) == 2**53 - 2
    assert _cost(query, {"n": 2**70}) == COST_CEILING == 2**53 - 1


def test_the_schema_query_of_graphiql_and_its_explorer_costs_nothing(gateway: Gateway) -> None:
    # answered by the gateway from the schema it holds: no subgraph, no database
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True
    )
    assert gateway.admit(gateway.prepare(query, None), {}, None).cost == 0
    mixed = "{ __schema { types { name fields { name } } } product(id: 1) { name } }"
    assert gateway.admit(gateway.prepare(mixed, None), {}, None).cost == 1


def test_a_document_over_the_limit_whatever_its_variables_is_refused_and_not_kept(
    gateway: Gateway,
) -> None:
    # thirty counted pages, literals only: over the limit on every request, so refused as
    # it is prepared, and never kept (a flood of such documents would fill the cache)
    costly = "{ " + " ".join(f"a{i}: products(limit: 1) {{ total }}" for i in range(30)) + " }"
    with pytest.raises(RequestError) as refused:
        gateway.prepare(costly, None)
    (error,) = refused.value.errors
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 30 * (1 + 50)  # a page and its counted total
    assert gateway._cached(costly, None)[2] is None
    # with a variable, the values sent decide: kept, refused per request
    assert gateway._cached(ALIASES, None)[2] is None
    gateway.prepare(ALIASES, None)
    assert gateway._cached(ALIASES, None)[2] is not None
