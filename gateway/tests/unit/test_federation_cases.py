"""The gateway over the federation cases (gateway/tests/federation_cases), in-process: each
case's answer as the spec wants it, and how many subgraph requests it took."""

from __future__ import annotations

import pytest

from gateway.federation import native_shape
from gateway.federation.override import OverrideLabels
from gateway.federation.pipeline import RequestError

from ..federation_cases import (
    assembled_keys,
    context_arguments,
    interface_objects_unresolvable,
    parent_entity_jump,
    partial_unions,
    progressive_override,
    requires_arguments,
    requires_round_trip,
    unplannable_node,
)
from ..federation_cases.harness import run_case


@pytest.fixture(autouse=True, params=["native", "python"])
def native_or_python(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case runs with msgspec (answers checked and encoded in native code where the
    plan allows: native_shape.py) and as without it (the pure-Python walk only)."""
    if request.param == "python":
        monkeypatch.setattr(native_shape, "msgspec", None)


async def test_requires_of_one_field_with_different_arguments_stay_apart() -> None:
    case = requires_arguments.build()
    answer = await run_case(
        case, "{ items { name costInDollars costInEuros dearerThanItsCategory } }"
    )
    assert answer == {
        "data": {
            "items": [
                {
                    "name": "Kettle",
                    "costInDollars": 20,
                    "costInEuros": 60,
                    "dearerThanItsCategory": False,
                },
                {
                    "name": "Anvil",
                    "costInDollars": 1500,
                    "costInEuros": 4500,
                    "dearerThanItsCategory": True,
                },
            ]
        }
    }
    # one catalog request, one shipping request carrying both representations
    assert [len(case.subgraphs[name].calls) for name in ("catalog", "shipping")] == [1, 1]


PRODUCTS = "{ products { name price stock } }"


async def test_progressive_override_labels_forced_off_keep_the_old_owner() -> None:
    case = progressive_override.build()
    labels = OverrideLabels.of(
        case.supergraph().override_labels, forced_off={"percent(30)", "stock-from-modern"}
    )
    answer = await case.gateway(labels).execute(PRODUCTS)
    assert answer == {
        "data": {
            "products": [
                {"name": "Lamp", "price": 100, "stock": 5},
                {"name": "Desk", "price": 100, "stock": 5},
            ]
        }
    }
    assert case.calls() == {"legacy": 1, "modern": 0}


async def test_progressive_override_labels_forced_on_move_the_fields() -> None:
    case = progressive_override.build()
    labels = OverrideLabels.of(
        case.supergraph().override_labels, forced_on={"percent(30)", "stock-from-modern"}
    )
    answer = await case.gateway(labels).execute(PRODUCTS)
    assert answer["data"]["products"][0] == {"name": "Lamp", "price": 200, "stock": 7}
    assert case.calls() == {"legacy": 1, "modern": 1}


async def test_a_percentage_label_moves_that_share_of_requests() -> None:
    case = progressive_override.build()
    gateway = case.gateway()  # labels drawn per request, none forced
    prices = []
    for _ in range(300):
        answer = await gateway.execute(PRODUCTS)
        product = answer["data"]["products"][0]
        assert product["stock"] == 5  # a label that is not a percentage stays off
        prices.append(product["price"])
    moved = prices.count(200)
    assert prices.count(100) + moved == 300
    # 30 % of 300 is 90; the bounds are 6 standard deviations away
    assert 40 < moved < 140, moved
    # one plan with the label, one without, both kept
    assert len(gateway.prepare(PRODUCTS, None).plans) == 2


NOTICES = (
    "notices { __typename ... on Plain { text } ... on NorthOnly { north }"
    " ... on SouthOnly { south } }"
)
PLAIN = {"__typename": "Plain", "text": "plain"}
NORTH = {"__typename": "NorthOnly", "north": "from north"}
SOUTH = {"__typename": "SouthOnly", "south": "from south"}
# below the shareable `panel`, either subgraph may answer: a member only one declares is
# no type the position can hold, so its fragment is not fetched (partial_unions docstring)
NORTH_UNFETCHED = {"__typename": "NorthOnly", "north": None}
SOUTH_UNFETCHED = {"__typename": "SouthOnly", "south": None}


def _notices(root: str, panel: str, notices: list[dict[str, str | None]]) -> dict[str, object]:
    return {root: {panel: {"notices": notices}}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            f"{{ northBoard {{ panel {{ {NOTICES} }} }} }}",
            _notices("northBoard", "panel", [PLAIN, NORTH_UNFETCHED]),
        ),
        (
            f"{{ southBoard {{ panel {{ {NOTICES} }} }} }}",
            _notices("southBoard", "panel", [PLAIN, SOUTH_UNFETCHED]),
        ),
        (
            "{ northBoard { panel { notices { __typename ... on SouthOnly { south } } } } }",
            _notices("northBoard", "panel", [{"__typename": "Plain"}, {"__typename": "NorthOnly"}]),
        ),
        (f"{{ anyBoard {{ panel {{ {NOTICES} }} }} }}", _notices("anyBoard", "panel", [PLAIN])),
        (
            f"{{ northBoard {{ southPanel {{ {NOTICES} }} }} }}",
            _notices("northBoard", "southPanel", [PLAIN, SOUTH]),
        ),
    ],
)
async def test_union_members_are_those_every_subgraph_that_may_answer_the_path_declares(
    query: str, expected: dict[str, object]
) -> None:
    answer = await run_case(partial_unions.build(), query)
    assert answer == {"data": expected}


async def test_a_key_is_assembled_from_several_subgraphs_before_its_entity_call() -> None:
    case = assembled_keys.build()
    answer = await run_case(
        case,
        "{ topShelf { books { id isbn price { amount } genre { flagship { id } id tag } }"
        " pick { id } first { id } } }",
    )
    books = [
        {
            "id": book_id,
            "isbn": f"i{book_id}",
            "price": {"amount": amount},
            "genre": {"flagship": {"id": book_id}, "id": f"g{book_id}", "tag": f"t{book_id}"},
        }
        for book_id, amount in (("1", 10.5), ("2", 20.0))
    ]
    assert answer == {
        "data": {"topShelf": {"books": books, "pick": {"id": "2"}, "first": {"id": "1"}}}
    }


@pytest.mark.parametrize(
    "selection",
    ["id label blurb", "blurb label id", "blurb", "label", "label blurb"],
)
async def test_a_field_where_its_type_has_no_key_is_reached_through_the_parent_entity(
    selection: str,
) -> None:
    answer = await run_case(
        parent_entity_jump.build(),
        f'{{ productById(id: "1") {{ id name category {{ {selection} }} }} }}',
    )
    category = {"id": "c3", "label": "Category c3", "blurb": "About Product#1"}
    expected = {name: category[name] for name in selection.split()}
    assert answer == {
        "data": {"productById": {"id": "1", "name": "Product#1", "category": expected}}
    }


@pytest.mark.parametrize(
    "query",
    [
        '{ node(id: "u1") { id } }',
        '{ node(id: "u1") { id ... on Post { id } } }',
    ],
)
async def test_a_field_no_one_subgraph_can_answer_for_every_type_is_refused(query: str) -> None:
    with pytest.raises(RequestError, match="cannot plan this operation"):
        await run_case(unplannable_node.build(), query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            '{ u: node(id: "u1") { __typename } p: node(id: "p1") { __typename } }',
            {"u": {"__typename": "User"}, "p": {"__typename": "Post"}},
        ),
        (
            '{ u: node(id: "u1") { ... on User { id handle } }'
            ' p: node(id: "p1") { ... on Post { id title } } }',
            {"u": {"id": "u1", "handle": "ada"}, "p": {"id": "p1", "title": "Hello"}},
        ),
        (
            '{ u: node(id: "u1") { ... on Post { id } } p: node(id: "p1") { ... on User { id } } }',
            {"u": {}, "p": {}},
        ),
        (
            '{ post(id: "p1") { id title author { id handle } } }',
            {"post": {"id": "p1", "title": "Hello", "author": {"id": "u1", "handle": "ada"}}},
        ),
        (
            '{ user(id: "u1") { id handle posts { id title } } }',
            {"user": {"id": "u1", "handle": "ada", "posts": [{"id": "p1", "title": "Hello"}]}},
        ),
    ],
)
async def test_what_each_subgraph_can_answer_is_answered(
    query: str, expected: dict[str, object]
) -> None:
    assert await run_case(unplannable_node.build(), query) == {"data": expected}


@pytest.mark.parametrize(
    ("query", "expected", "calls"),
    [
        ("{ someNode { id note } }", {"someNode": {"id": "n1", "note": "baked"}}, {"bakery": 1}),
        ("{ someNode { id } }", {"someNode": {"id": "n1"}}, {"bakery": 1}),
        ("{ featured { id } }", {"featured": {"id": "p1"}}, {"catalog": 1}),
        (
            "{ featured { ... on Bread { id name } } }",
            {"featured": {"id": "p1", "name": "Rye"}},
            {"catalog": 1, "bakery": 1},
        ),
    ],
)
async def test_an_interface_object_answers_alone_unless_the_concrete_type_matters(
    query: str, expected: dict[str, object], calls: dict[str, int]
) -> None:
    case = interface_objects_unresolvable.build()
    assert await run_case(case, query) == {"data": expected}
    assert {name: count for name, count in case.calls().items() if count} == calls


async def test_a_field_behind_keys_no_subgraph_resolves_is_refused() -> None:
    with pytest.raises(RequestError, match="cannot plan this operation"):
        await run_case(interface_objects_unresolvable.build(), "{ anyNode { note } }")


async def test_an_object_typed_as_its_interface_is_an_error_at_its_path() -> None:
    answer = await run_case(interface_objects_unresolvable.build(), "{ anyNode { id } }")
    assert answer["data"] == {"anyNode": None}
    assert answer["errors"][0]["path"] == ["anyNode"]


async def test_an_argument_from_context_is_the_nearest_ancestors_value() -> None:
    case = context_arguments.build()
    answer = await run_case(case, "{ customers { name invoices { id display } } }")
    assert answer == {
        "data": {
            "customers": [
                {
                    "name": "Ada",
                    "invoices": [
                        {"id": "i1", "display": "10 EUR"},
                        {"id": "i2", "display": "20 EUR"},
                    ],
                },
                {"name": "Bob", "invoices": [{"id": "i3", "display": "5 USD"}]},
            ]
        }
    }
    # the invoices of each currency in a call of their own
    displays = [c for c in case.subgraphs["billing"].calls if "display" in c["query"]]
    assert sorted(c["variables"]["_fed_context_0"] for c in displays) == ["EUR", "USD"]
    assert case.calls() == {"customers": 1, "billing": 3}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("forBeginners", [{"forBeginners": True}, {"forBeginners": False}]),
        ("forExperts", [{"forExperts": False}, {"forExperts": True}]),
        (
            "id forBeginners forExperts",
            [
                {"id": "p1", "forBeginners": True, "forExperts": False},
                {"id": "p2", "forBeginners": False, "forExperts": True},
            ],
        ),
    ],
)
async def test_a_requirement_that_leaves_a_subgraph_and_comes_back(
    selection: str, expected: list[dict[str, object]]
) -> None:
    answer = await run_case(requires_round_trip.build(), f"{{ feed {{ {selection} }} }}")
    assert answer == {"data": {"feed": expected}}
