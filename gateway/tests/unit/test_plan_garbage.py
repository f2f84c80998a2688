"""Planning leaves no reference cycles behind: the fetch tree (a fetch and its parent point
at each other) is unlinked once its plan is made, and staging uses no self-calling
closures or classes. What a plan does not keep is freed when the planner lets go of it,
not left for a garbage collection to walk. (Not yet for arguments and directives: each
graphql-core print_ast leaves a buffer that refers to itself.)"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.federation.planner import plan_operation
from gateway.federation.stages import stage_plan
from gateway.federation.supergraph import Supergraph

CASES = Path(__file__).resolve().parents[1] / "federation_cases"


@pytest.fixture(autouse=True)
def _collections_off() -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was:
        gc.enable()


@pytest.mark.parametrize(
    ("case", "query"),
    [
        ("assembled_keys", "{ topShelf { books { id isbn price { amount } } pick { id } } }"),
        ("requires_round_trip", "{ feed { forExperts } }"),
        ("interface_objects_unresolvable", "{ featured { ... on Bread { name } } }"),
    ],
)
def test_a_plan_and_its_stages_make_no_cyclic_garbage(case: str, query: str) -> None:
    supergraph = Supergraph.parse((CASES / case / "supergraph.graphql").read_text())
    document = parse(query, no_location=True)  # graphql-core's tokens are a cycle of its own
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    stage_plan(plan_operation(supergraph, document, operation))  # caches filled
    gc.collect()
    staged = stage_plan(plan_operation(supergraph, document, operation))
    assert len(staged.fetches) > 1  # entity fetches: a tree with parents
    assert gc.collect() == 0
