"""Route choice on overlapping subgraphs (every subgraph resolves some fields of one entity
type, nested): which subgraph a field goes to is the one that resolves most of what is
selected under it, counted once per document (routes.RouteFinder.misses), and fields print
as selected (selection.head)."""

from __future__ import annotations

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    parse,
    print_ast,
)

from gateway.federation.planner import plan_operation
from gateway.federation.routes import RouteFinder, Walk
from gateway.federation.selection import head
from gateway.federation.stages import stage_plan
from gateway.federation.supergraph import Supergraph

HEADER = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet,
  type: String, external: Boolean, override: String, usedOverridden: Boolean)
  repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!)
  repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph {
  A @join__graph(name: "a", url: "http://a/graphql")
  B @join__graph(name: "b", url: "http://b/graphql")
  C @join__graph(name: "c", url: "http://c/graphql")
}
"""

# x: A and B; y: B and C; z: A and C; next: everywhere
SUPERGRAPH = (
    HEADER
    + """
type Query @join__type(graph: A) @join__type(graph: B) @join__type(graph: C) {
  item: Item
}
type Item @join__type(graph: A, key: "id") @join__type(graph: B, key: "id")
  @join__type(graph: C, key: "id") {
  id: ID!
  x: String @join__field(graph: A) @join__field(graph: B)
  y: String @join__field(graph: B) @join__field(graph: C)
  z: String @join__field(graph: A) @join__field(graph: C)
  next: Item
}
"""
)


@pytest.fixture(scope="module")
def supergraph() -> Supergraph:
    return Supergraph.parse(SUPERGRAPH)


def _root_field(text: str) -> FieldNode:
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return field


def test_misses_count_what_each_subgraph_cannot_resolve_down_the_whole_selection(
    supergraph: Supergraph,
) -> None:
    item = _root_field("{ item { x y next { y z next { x } } } }")
    finder = RouteFinder(supergraph, {}, {}, Walk())
    # A lacks y, y: 2; B lacks z: 1; C lacks x, x: 2 (a field it lacks is one miss,
    # whatever is selected under it)
    assert {g: finder.misses("Query", item, g) for g in ("A", "B", "C")} == {
        "A": 2,
        "B": 1,
        "C": 2,
    }
    # asked again (as best_graph does at every level): the same answers
    assert [finder.misses("Query", item, g) for g in ("C", "B", "A")] == [2, 1, 2]
    assert finder.best_graph("Query", item, ["A", "B", "C"], set()) == "B"
    # a tie goes to a subgraph already used, then by name
    tied = _root_field("{ item { next { id } } }")
    assert finder.best_graph("Query", tied, ["C", "B", "A"], set()) == "A"
    assert finder.best_graph("Query", tied, ["C", "B", "A"], {"C"}) == "C"


def test_a_field_below_a_fragment_counts_and_meta_fields_do_not(supergraph: Supergraph) -> None:
    item = _root_field("{ item { __typename ... on Item { y } next { ...F } } }")
    fragments = {
        d.name.value: d
        for d in parse("fragment F on Item { z __typename }").definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    finder = RouteFinder(supergraph, {}, fragments, Walk())
    assert [finder.misses("Query", item, g) for g in ("A", "B", "C")] == [1, 1, 0]


def test_nested_overlapping_fields_are_fetched_where_most_of_them_resolve(
    supergraph: Supergraph,
) -> None:
    document = parse("{ item { x y next { y z } } }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    staged = stage_plan(plan_operation(supergraph, document, operation))
    # B answers x and y at the root; under `next`, y stays in B and z goes to A or C
    first = staged.stages[0].requests[0]
    assert first.graph == "B"
    assert "x y" in first.operation
    assert [len(stage.requests) for stage in staged.stages] == [1, 1]
    assert "z" in staged.stages[1].requests[0].operation


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "alias: name",
        "name(first: 2)",
        'alias: name(first: $n, after: "x")',
        "name @include(if: $on)",
        "alias: name(first: 1) @skip(if: false)",
    ],
)
def test_a_field_head_prints_as_the_graphql_printer_does(field: str) -> None:
    node = _root_field("{ " + field + " }")
    printed = print_ast(
        FieldNode(
            alias=node.alias, name=node.name, arguments=node.arguments, directives=node.directives
        )
    )
    assert head(node) == printed
    assert head(node, "_fed_x") == printed.replace("alias: ", "").replace(
        node.name.value, "_fed_x: " + node.name.value, 1
    )
