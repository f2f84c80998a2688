"""A plan's fetch tree as steps: one request per subgraph per step. Plans are data, so this
needs no subgraph."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse

from gateway.federation.plan import Fetch, QueryPlan
from gateway.federation.stages import stage_plan


def _entities(graph: str, type_name: str, selection: str, path: str, *children: Fetch) -> Fetch:
    return Fetch(
        graph=graph,
        operation=(
            "query($representations: [_Any!]! $first: Int) { _entities(representations:"
            f" $representations) {{ ... on {type_name} {{ {selection} }} }} }}"
        ),
        variables=("first",) if "$first" in selection else (),
        entity_type=type_name,
        path=tuple(path.split(".")),
        children=list(children),
        entity_selection=f"... on {type_name} {{ {selection} }}",
        declared=(("first", "$first: Int"),) if "$first" in selection else (),
    )


def _root(graph: str, operation: str, *children: Fetch) -> Fetch:
    return Fetch(graph=graph, operation=operation, children=list(children))


def test_fetches_to_one_subgraph_in_one_step_travel_in_one_request() -> None:
    plan = QueryPlan(
        "query",
        [
            _root("A", "query { users { id } }", _entities("B", "User", "name", "users")),
            _root(
                "C",
                "query { posts { id } }",
                _entities("B", "Post", "title(first: $first)", "posts"),
                _entities("B", "Post", "title(first: $first)", "top"),
            ),
        ],
    )
    staged = stage_plan(plan)
    assert [[r.graph for r in stage.requests] for stage in staged.stages] == [["A", "C"], ["B"]]
    (request,) = staged.stages[1].requests
    # the two fetches with the same selection share one `_entities` field
    assert [len(call.fetches) for call in request.entity_calls] == [1, 2]
    assert request.variables == ("first",)
    operation = parse(request.operation).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    assert {d.variable.name.value for d in operation.variable_definitions} == {
        "first",
        "r0",
        "r1",
    }
    assert [f.alias.value for f in operation.selection_set.selections] == ["_e0", "_e1"]  # type: ignore[union-attr]


def test_a_fetch_nothing_depends_on_waits_for_a_later_call_to_its_subgraph() -> None:
    plan = QueryPlan(
        "query",
        [
            _root(
                "P",
                "query { top { upc } }",
                _entities("I", "Product", "stock", "top"),  # a leaf at step 1
                _entities(
                    "R",
                    "Product",
                    "reviews { product { upc } }",
                    "top",
                    _entities("I", "Product", "stock", "top.reviews.product"),  # step 2
                ),
            )
        ],
    )
    staged = stage_plan(plan)
    assert [[r.graph for r in stage.requests] for stage in staged.stages] == [["P"], ["R"], ["I"]]
    assert staged.request_count() == 3
    (inventory,) = staged.stages[2].requests
    assert len(inventory.entity_calls) == 1  # same selection: one call, two paths
    assert {f.fetch.path for f in inventory.entity_calls[0].fetches} == {
        ("top",),
        ("top", "reviews", "product"),
    }


def test_a_mutation_keeps_its_order_and_is_never_shared() -> None:
    plan = QueryPlan(
        "mutation",
        [
            _root("A", "mutation { a: add { id } }", _entities("B", "Item", "name", "a")),
            _root("A", "mutation { b: add { id } }", _entities("B", "Item", "name", "b")),
        ],
    )
    staged = stage_plan(plan)
    steps = [[(r.graph, r.shareable) for r in stage.requests] for stage in staged.stages]
    assert steps == [[("A", False)], [("B", True)], [("A", False)], [("B", True)]]
    first_mutation = staged.stages[0].requests[0].root
    assert first_mutation is not None and "a: add" in first_mutation.fetch.operation


def test_a_fetch_runs_after_every_fetch_it_follows_and_those_stay_put() -> None:
    # C at `users` reads what D gives under B, so it waits for that D call, a step further
    # down. That D fetch has nothing under it and a later step calls D again (under C), yet
    # it must not move there: C depends on it.
    deep = _entities("D", "User", "isbn", "users.books")
    deep.id = 3
    reading = _entities("C", "User", "price", "users", _entities("D", "User", "more", "users"))
    reading.id, reading.after = 4, (3,)
    plan = QueryPlan(
        "query",
        [
            _root(
                "A",
                "query { users { id } }",
                _entities("B", "User", "books { id }", "users", deep),
                reading,
            )
        ],
    )
    staged = stage_plan(plan)
    steps = [[r.graph for r in stage.requests] for stage in staged.stages]
    assert steps == [["A"], ["B"], ["D"], ["C"], ["D"]]
    assert "isbn" in staged.stages[2].requests[0].operation
