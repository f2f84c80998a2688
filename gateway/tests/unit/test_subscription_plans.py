"""A subscription is planned like a query on the Subscription root: its one root field is a
fetch to the subgraph that owns it (found from the supergraph, nothing named), the first
step of the plan; the rest (entity fetches) runs for each event."""

from __future__ import annotations

from pathlib import Path

from graphql import OperationDefinitionNode, get_operation_ast, parse

from gateway.federation.planner import plan_operation
from gateway.federation.stages import StagedPlan, stage_plan
from gateway.federation.supergraph import Supergraph

SUPERGRAPH = Supergraph.parse(
    (Path(__file__).resolve().parents[2] / "supergraph.graphql").read_text()
)


def _staged(query: str) -> StagedPlan:
    document = parse(query)
    operation = get_operation_ast(document)
    assert isinstance(operation, OperationDefinitionNode)
    return stage_plan(plan_operation(SUPERGRAPH, document, operation, {}))


def test_the_root_field_is_streamed_from_its_owner_and_entities_follow_per_event() -> None:
    staged = _staged(
        "subscription($id: ID) { orderUpdated(id: $id) { status items { product { name } } } }"
    )
    assert staged.kind == "subscription"
    (root,) = staged.stages[0].requests
    assert SUPERGRAPH.subgraphs[root.graph].name == "orders"
    assert root.root is not None
    assert root.operation.startswith("subscription($id: ID) { orderUpdated(id: $id)")
    assert root.variables == ("id",)
    (entities,) = staged.stages[1].requests
    assert SUPERGRAPH.subgraphs[entities.graph].name == "inventory"
    assert entities.operation.startswith("query(")
    assert "_entities" in entities.operation and "name" in entities.operation


def test_a_subscription_one_subgraph_answers_alone_is_one_step() -> None:
    staged = _staged("subscription { productUpdated { id name stock } }")
    assert [len(stage.requests) for stage in staged.stages] == [1]
    (root,) = staged.stages[0].requests
    assert SUPERGRAPH.subgraphs[root.graph].name == "inventory"
    assert root.operation == "subscription { productUpdated { id name stock } }"
