"""Plans are data: printed and compared, and cached so a repeat does no planning."""

from __future__ import annotations

from graphql import parse

from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway
from gateway.federation.planner import plan_operation
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

from .conftest import World


def _plan(supergraph: Supergraph, query: str) -> str:
    document = parse(query)
    operation = document.definitions[0]
    return plan_operation(supergraph, document, operation).describe()  # type: ignore[arg-type]


EXPECTED_REQUIRES_PLAN = """\
Parallel:
  Fetch(PRODUCTS)
    query { topProducts { name __typename _fed_upc: upc _fed_price: price _fed_weight: weight } }
    Fetch(REVIEWS, entities Product at topProducts)
      query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { shippingEstimate reviews { body author { username } } } } }"""


def test_a_plan_snapshot_with_requires_and_provides(world: World) -> None:
    supergraph = Supergraph.parse(world.supergraph)
    plan = _plan(
        supergraph, "{ topProducts { name shippingEstimate reviews { body author { username } } } }"
    )
    assert plan == EXPECTED_REQUIRES_PLAN


def test_a_mutation_plan_is_a_sequence(world: World) -> None:
    supergraph = Supergraph.parse(world.supergraph)
    plan = _plan(
        supergraph, 'mutation { a: addReview(body: "1") { id } b: addReview(body: "2") { id } }'
    )
    assert plan.startswith("Sequence:")
    assert plan.count("Fetch(REVIEWS)") == 2


async def test_a_repeated_operation_is_planned_once(world: World) -> None:
    supergraph = Supergraph.parse(world.supergraph)
    executor = Executor(
        supergraph.subgraphs,
        {g: s.url for g, s in supergraph.subgraphs.items()},
        SubgraphTransport(timeout=2),
    )
    gateway = Gateway(supergraph, executor)
    try:
        first = gateway.prepare("{ me { name } }", None)
        assert gateway.prepare("{ me { name } }", None) is first
        assert gateway.prepare("{ me { id } }", None) is not first
    finally:
        await executor.close()
