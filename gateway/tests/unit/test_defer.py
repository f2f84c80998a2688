"""@defer through the gateway's own pipeline, in-process (federation case
`deferred_fragments`): how the planner splits deferred fragments into later fetches, and
the payloads a client taking incremental delivery gets."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from graphql import (
    DirectiveNode,
    FieldNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

from gateway.federation.pipeline import Gateway, RequestError

from ..federation_cases import (
    context_arguments,
    deferred_fragments,
    interface_objects_unresolvable,
    partial_unions,
    requires_arguments,
    requires_round_trip,
    unplannable_node,
)
from ..federation_cases.harness import Case


async def payloads(
    gateway: Gateway, query: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    prepared = gateway.prepare(query, None)
    admitted = gateway.admit(prepared, variables, None)
    return [p async for p in gateway.run_incremental(prepared, admitted, variables)]


@pytest.fixture
def case() -> Case:
    return deferred_fragments.build()


STATE_FIRST = """{ shipment(id: "s1") { state
  ... @defer(label: "parcels") { parcels { weight article { title } } } } }"""


def test_a_deferred_fragment_reaching_another_subgraph_is_fetched_after_the_first_payload(
    case: Case,
) -> None:
    gateway = case.gateway()
    prepared = gateway.prepare(STATE_FIRST, None)
    compiled = gateway.plan(prepared, {}, incremental=True)
    first = compiled.staged.stages
    # the first payload: one ledger request, for the state (and the key the rest needs)
    assert [[r.graph.lower() for r in stage.requests] for stage in first] == [["ledger"]]
    assert "parcels" not in first[0].requests[0].operation
    assert "state" in first[0].requests[0].operation
    # the deferred part: the parcels by the shipment's key, then their articles' titles
    later = compiled.staged.deferred[1]
    assert [[r.graph.lower() for r in stage.requests] for stage in later] == [
        ["ledger"],
        ["catalog"],
    ]
    assert "_entities" in later[0].requests[0].operation
    assert "parcels" in later[0].requests[0].operation
    assert "title" in later[1].requests[0].operation
    # a client that takes no incremental delivery: one plan, nothing held back
    whole = gateway.plan(prepared, {})
    assert whole.staged.deferred == {}
    assert [[r.graph.lower() for r in stage.requests] for stage in whole.staged.stages] == [
        ["ledger"],
        ["catalog"],
    ]


async def test_the_first_payload_then_the_deferred_part_with_its_label_and_path(
    case: Case,
) -> None:
    answer = await payloads(case.gateway(), STATE_FIRST)
    assert answer == [
        {"data": {"shipment": {"state": "SENT"}}, "hasNext": True},
        {
            "incremental": [
                {
                    "data": {
                        "parcels": [
                            {"weight": 2, "article": {"title": "Lamp"}},
                            {"weight": 5, "article": {"title": "Desk"}},
                        ]
                    },
                    "path": ["shipment"],
                    "label": "parcels",
                }
            ],
            "hasNext": False,
        },
    ]


async def test_without_incremental_delivery_defer_is_ignored(case: Case) -> None:
    answer = await case.gateway().execute(STATE_FIRST)
    assert answer == {
        "data": {
            "shipment": {
                "state": "SENT",
                "parcels": [
                    {"weight": 2, "article": {"title": "Lamp"}},
                    {"weight": 5, "article": {"title": "Desk"}},
                ],
            }
        }
    }
    assert case.calls() == {"ledger": 1, "catalog": 1}


async def test_defer_if_a_variable_decides_and_each_value_keeps_its_own_plan(
    case: Case,
) -> None:
    query = """query($later: Boolean!) { shipment(id: "s1") { state
      ... @defer(if: $later) { note } } }"""
    gateway = case.gateway()
    now = await payloads(gateway, query, {"later": False})
    assert now == [{"data": {"shipment": {"state": "SENT", "note": "fragile"}}}]
    later = await payloads(gateway, query, {"later": True})
    assert later == [
        {"data": {"shipment": {"state": "SENT"}}, "hasNext": True},
        {
            "incremental": [{"data": {"note": "fragile"}, "path": ["shipment"]}],
            "hasNext": False,
        },
    ]
    prepared = gateway.prepare(query, None)
    assert len(prepared.plans) == 2
    # planned once per value: the same plan object comes back
    assert gateway.plan(prepared, {"later": True}, incremental=True) is gateway.plan(
        prepared, {"later": True}, incremental=True
    )


async def test_a_literal_false_if_defers_nothing(case: Case) -> None:
    answer = await payloads(
        case.gateway(), '{ shipment(id: "s1") { state ... @defer(if: false) { note } } }'
    )
    assert answer == [{"data": {"shipment": {"state": "SENT", "note": "fragile"}}}]


async def test_a_same_subgraph_field_is_deferred_by_an_entity_fetch_of_its_own(
    case: Case,
) -> None:
    gateway = case.gateway()
    query = '{ shipment(id: "s1") { state ... @defer { note } } }'
    compiled = gateway.plan(gateway.prepare(query, None), {}, incremental=True)
    (first,) = compiled.staged.stages
    assert "note" not in first.requests[0].operation
    (later,) = compiled.staged.deferred[1]
    assert later.requests[0].graph.lower() == "ledger"
    assert "note" in later.requests[0].operation


async def test_nested_defers_come_after_their_parent_one_entry_per_object(case: Case) -> None:
    query = """{ shipment(id: "s1") { state ... @defer(label: "outer") {
      parcels { weight ... @defer(label: "inner") { article { title } } } } } }"""
    answer = await payloads(case.gateway(), query)
    assert answer == [
        {"data": {"shipment": {"state": "SENT"}}, "hasNext": True},
        {
            "incremental": [
                {
                    "data": {"parcels": [{"weight": 2}, {"weight": 5}]},
                    "path": ["shipment"],
                    "label": "outer",
                }
            ],
            "hasNext": True,
        },
        {
            "incremental": [
                {
                    "data": {"article": {"title": "Lamp"}},
                    "path": ["shipment", "parcels", 0],
                    "label": "inner",
                },
                {
                    "data": {"article": {"title": "Desk"}},
                    "path": ["shipment", "parcels", 1],
                    "label": "inner",
                },
            ],
            "hasNext": False,
        },
    ]


async def test_a_deferred_parts_errors_stay_in_that_part(case: Case) -> None:
    query = """{ shipment(id: "s2") { state
      ... @defer(label: "articles") { parcels { article { title } } } } }"""
    first, part = await payloads(case.gateway(), query)
    assert first == {"data": {"shipment": {"state": "PACKED"}}, "hasNext": True}
    (entry,) = part["incremental"]
    assert part["hasNext"] is False
    assert entry["path"] == ["shipment"] and entry["label"] == "articles"
    assert entry["data"] is None  # title is non-null: null propagates to the fragment
    assert entry["errors"]
    assert any("no article broken" in e["message"] for e in entry["errors"])


async def test_defers_at_the_root_and_on_a_list(case: Case) -> None:
    query = """{ shipments { id ... on Shipment @defer { state } }
      ... @defer(label: "one") { shipment(id: "s2") { note } } }"""
    first, *rest = await payloads(case.gateway(), query)
    assert first == {"data": {"shipments": [{"id": "s1"}, {"id": "s2"}]}, "hasNext": True}
    entries = [entry for payload in rest for entry in payload.get("incremental", ())]
    assert sorted(entries, key=lambda e: (len(e["path"]), str(e["path"]))) == [
        {"data": {"shipment": {"note": None}}, "path": [], "label": "one"},
        {"data": {"state": "SENT"}, "path": ["shipments", 0]},
        {"data": {"state": "PACKED"}, "path": ["shipments", 1]},
    ]
    assert rest[-1]["hasNext"] is False
    assert all(payload["hasNext"] for payload in rest[:-1])


async def test_defer_is_known_to_validation_and_its_labels_must_be_unique(case: Case) -> None:
    gateway = case.gateway()
    gateway.prepare('{ shipment(id: "s1") { ... @defer(label: "a") { note } } }', None)
    with pytest.raises(RequestError) as refused:
        gateway.prepare(
            '{ shipment(id: "s1") { ... @defer(label: "a") { note } ... @defer(label: "a") '
            "{ state } } }",
            None,
        )
    assert refused.value.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_fragment_on_a_type_no_key_reaches_rides_along_but_comes_in_its_part(
    case: Case,
) -> None:
    gateway = case.gateway()
    query = '{ shipment(id: "s1") { parcels { weight ... @defer { article { sku } } } } }'
    compiled = gateway.plan(gateway.prepare(query, None), {}, incremental=True)
    (first,) = compiled.staged.stages
    assert "sku" in first.requests[0].operation  # a parcel is no entity: fetched with it
    assert compiled.staged.deferred == {}
    answer = await payloads(gateway, query)
    assert answer == [
        {"data": {"shipment": {"parcels": [{"weight": 2}, {"weight": 5}]}}, "hasNext": True},
        {
            "incremental": [
                {"data": {"article": {"sku": "a1"}}, "path": ["shipment", "parcels", 0]},
                {"data": {"article": {"sku": "a2"}}, "path": ["shipment", "parcels", 1]},
            ],
            "hasNext": False,
        },
    ]


async def test_a_deferred_field_inside_an_entity_fetch_gets_an_entity_fetch_of_its_own(
    case: Case,
) -> None:
    gateway = case.gateway()
    query = """{ shipment(id: "s1") { parcels { article { title
      ... @defer(label: "maker") { maker { name } } } } } }"""
    compiled = gateway.plan(gateway.prepare(query, None), {}, incremental=True)
    _, second = compiled.staged.stages
    assert "maker" not in second.requests[0].operation
    (later,) = compiled.staged.deferred[1]
    assert later.requests[0].graph.lower() == "catalog"
    assert "maker" in later.requests[0].operation
    first_payload, part = await payloads(gateway, query)
    titles = [p["article"] for p in first_payload["data"]["shipment"]["parcels"]]
    assert titles == [{"title": "Lamp"}, {"title": "Desk"}]
    assert part == {
        "incremental": [
            {
                "data": {"maker": {"name": "Lumen"}},
                "path": ["shipment", "parcels", 0, "article"],
                "label": "maker",
            },
            {
                "data": {"maker": None},
                "path": ["shipment", "parcels", 1, "article"],
                "label": "maker",
            },
        ],
        "hasNext": False,
    }


async def test_introspection_shows_defer(case: Case) -> None:
    answer = await case.gateway().execute("{ __schema { directives { name } } }")
    names = {d["name"] for d in answer["data"]["__schema"]["directives"]}
    assert {"defer", "skip", "include"} <= names


async def test_ignored_defer_with_a_null_in_a_non_null_field_is_shaped_by_the_spec(
    case: Case,
) -> None:
    """The whole answer's slow path (graphql-core) runs on the document without @defer."""
    answer = await case.gateway().execute(
        '{ shipment(id: "s2") { state ... @defer { parcels { article { title } } } } }'
    )
    assert answer["data"] == {"shipment": None}
    assert any("no article broken" in e["message"] for e in answer["errors"])


def _defer_everywhere(query: str) -> str:
    """Every selection set of a field or of the operation wrapped in `... @defer { }`: each
    level a deferred part nested in the one above."""

    class Wrap(Visitor):
        def leave_selection_set(
            self, node: SelectionSetNode, _key: object, parent: object, *_: object
        ) -> SelectionSetNode | None:
            if not isinstance(parent, (FieldNode, OperationDefinitionNode)):
                return None
            deferred = InlineFragmentNode(
                type_condition=None,
                directives=(DirectiveNode(name=NameNode(value="defer"), arguments=()),),
                selection_set=node,
            )
            return SelectionSetNode(selections=(deferred,))

    return print_ast(visit(parse(query), Wrap()))


def _merge(into: Any, value: Any) -> Any:
    if isinstance(into, dict) and isinstance(value, dict):
        for key, item in value.items():
            into[key] = _merge(into[key], item) if key in into else item
        return into
    if isinstance(into, list) and isinstance(value, list) and len(into) == len(value):
        return [_merge(a, b) for a, b in zip(into, value, strict=True)]
    return value


def _assembled(answer: list[dict[str, Any]]) -> Any:
    """The data a client holds once every part has come."""
    answer = copy.deepcopy(answer)
    data = answer[0]["data"]
    for payload in answer[1:]:
        for entry in payload.get("incremental", ()):
            target = data
            for key in entry["path"]:
                target = target[key]
            _merge(target, entry["data"])
    return data


# Cases whose fixtures answer an entity by its key differently than along the path
# (assembled_keys' Genre, parent_entity_jump's storefront without a reference resolver,
# partial_unions' anyBoard members) are left out: federation requires the same answer both
# ways, and a deferred part fetched apart asks by key.
EVERYWHERE = [
    (requires_arguments, "{ items { name costInDollars costInEuros dearerThanItsCategory } }"),
    (
        partial_unions,
        "{ northBoard { panel { notices { __typename ... on Plain { text }"
        " ... on NorthOnly { north } ... on SouthOnly { south } } } } }",
    ),
    (
        unplannable_node,
        '{ u: node(id: "u1") { ... on User { id handle } }'
        ' p: node(id: "p1") { ... on Post { id title } } }',
    ),
    (unplannable_node, '{ user(id: "u1") { id handle posts { id title } } }'),
    (interface_objects_unresolvable, "{ featured { ... on Bread { id name } } }"),
    (interface_objects_unresolvable, "{ someNode { id note } }"),
    (context_arguments, "{ customers { name invoices { id display } } }"),
    (requires_round_trip, "{ feed { id forBeginners forExperts } }"),
    (
        deferred_fragments,
        '{ shipment(id: "s1") { id state note parcels { weight article { title'
        " maker { name country } } } } }",
    ),
]


@pytest.mark.parametrize(("module", "query"), EVERYWHERE)
async def test_defer_at_every_level_assembles_the_same_answer(module: Any, query: str) -> None:
    """Whatever the planner has to do for a case (requirements, keys gathered elsewhere,
    interface objects, unions, context), deferring every level gives, once all parts have
    come, the answer the query gives at once, and the parts come parents first."""
    case = module.build()
    whole = await case.gateway().execute(query)
    answer = await payloads(case.gateway(), _defer_everywhere(query))
    assert answer[0] == {"data": {}, "hasNext": True}  # all of it deferred, at the root
    assert [p["hasNext"] for p in answer[1:]][-1] is False
    assert not any("errors" in e for p in answer[1:] for e in p.get("incremental", ()))
    assert _assembled(answer) == whole["data"]
