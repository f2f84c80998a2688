"""The gateway over the federation cases (gateway/tests/federation_cases), in-process: each
case's answer as the spec wants it, and how many subgraph requests it took."""

from __future__ import annotations

from gateway.federation.override import OverrideLabels

from ..federation_cases import progressive_override, requires_arguments
from ..federation_cases.harness import run_case


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
