"""Plan snapshots on the federation cases' committed supergraphs: the requests each
step sends, with no subgraph running (the answers are checked in test_federation_cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, get_operation_ast, parse

from gateway.federation.planner import plan_operation
from gateway.federation.stages import stage_plan
from gateway.federation.supergraph import Supergraph

CASES = Path(__file__).resolve().parents[1] / "federation_cases"

SNAPSHOTS = [
    # two requirements of one field with different arguments: two aliases, two `_entities` calls in one request
    pytest.param(
        "requires_arguments",
        "{ items { name costInDollars costInEuros } }",
        """\
Step 0:
  CATALOG: query { items { name __typename _fed_id: id _fed_price_ecbabde3: price(currency: "USD") _fed_weight: weight _fed_price_06eb3771: price(currency: "EUR") } }
Step 1:
  SHIPPING: query($r0: [_Any!]! $r1: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Item { costInDollars } } _e1: _entities(representations: $r1) { ... on Item { costInEuros } } }""",
        id="requires_arguments",
    ),
    # keys gathered from several subgraphs before the calls they feed
    pytest.param(
        "assembled_keys",
        "{ topShelf { books { id isbn price { amount } } pick { id } } }",
        """\
Step 0:
  SHELVES: query { topShelf { books { id __typename _fed_id: id _fed_genre: genre { id tag } } __typename _fed_books: books { id __typename _fed_id: id } } }
Step 1:
  ISBNS: query($r0: [_Any!]! $r1: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Book { isbn _fed_isbn: isbn } } _e1: _entities(representations: $r1) { ... on Book { isbn } } }
Step 2:
  PRICES: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Book { price { amount } } } }
  PICKS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Shelf { pick { id } } } }""",
        id="assembled_keys",
    ),
    # a field where its type has no key, reached beside the parent entity's fetch
    pytest.param(
        "parent_entity_jump",
        '{ productById(id: "1") { name category { label blurb } } }',
        """\
Step 0:
  STOREFRONT: query { productById(id: "1") { name __typename _fed_id: id } }
Step 1:
  BLURBS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Product { category { __typename blurb } } } }
  TAXONOMY: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Product { category { _fed_id: id } } } }
Step 2:
  LABELS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Category { label } } }""",
        id="parent_entity_jump",
    ),
    # an argument from context: the value selected on the ancestor, the field in a call of its own
    pytest.param(
        "context_arguments",
        "{ customers { name invoices { display } } }",
        """\
Step 0:
  CUSTOMERS: query { customers { name __typename _fed_id: id } }
Step 1:
  BILLING: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Customer { invoices { __typename _fed_id: id } _fed_currency: currency } } }
Step 2:
  BILLING: query($representations: [_Any!]! $_fed_context_0: String) { _entities(representations: $representations) { ... on Invoice { display(currency: $_fed_context_0) } } }""",
        id="context_arguments",
    ),
    # an @interfaceObject's concrete type told by the interface's owner
    pytest.param(
        "interface_objects_unresolvable",
        "{ featured { ... on Bread { name } } }",
        """\
Step 0:
  CATALOG: query { featured { __typename _fed_id: id } }
Step 1:
  BAKERY: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Product { __typename ... on Bread { name } } } }""",
        id="interface_objects_unresolvable",
    ),
    # a requirement that leaves a subgraph and comes back, in order
    pytest.param(
        "requires_round_trip",
        "{ feed { forExperts } }",
        """\
Step 0:
  POSTS: query { feed { __typename _fed_id: id } }
Step 1:
  LEVELS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Post { _fed_writer: writer { __typename _fed_id: id } } } }
Step 2:
  POSTS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Writer { years } } }
Step 3:
  LEVELS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Post { _fed_forBeginners: forBeginners } } }
Step 4:
  POSTS: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Post { forExperts } } }""",
        id="requires_round_trip",
    ),
    # below shareable fields two subgraphs may answer, only the union members both declare
    # (Apollo's planner gives the same plan for the audit's partial-union-complex)
    pytest.param(
        "partial_unions",
        "{ northBoard { panel { notices { __typename ... on Plain { text }"
        " ... on NorthOnly { north } ... on SouthOnly { south } } } } }",
        """\
Step 0:
  NORTH: query { northBoard { panel { notices { __typename ... on Plain { text } } } } }""",
        id="partial_unions_shared",
    ),
    # a field only south has: south alone decides, and it declares SouthOnly
    pytest.param(
        "partial_unions",
        "{ northBoard { southPanel { notices { __typename ... on Plain { text }"
        " ... on NorthOnly { north } ... on SouthOnly { south } } } } }",
        """\
Step 0:
  NORTH: query { northBoard { __typename _fed_id: id } }
Step 1:
  SOUTH: query($r0: [_Any!]!) { _e0: _entities(representations: $r0) { ... on Board { southPanel { notices { __typename ... on Plain { text } ... on SouthOnly { south } } } } } }""",
        id="partial_unions_south_only",
    ),
]


@pytest.mark.parametrize(("case", "query", "expected"), SNAPSHOTS)
def test_the_plan_of_a_case(case: str, query: str, expected: str) -> None:
    supergraph = Supergraph.parse((CASES / case / "supergraph.graphql").read_text())
    document = parse(query)
    operation = get_operation_ast(document)
    assert isinstance(operation, OperationDefinitionNode)
    assert stage_plan(plan_operation(supergraph, document, operation)).describe() == expected
