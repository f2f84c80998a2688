"""The gateway over the federation cases (gateway/tests/federation_cases), in-process: each
case's answer as the spec wants it, and how many subgraph requests it took."""

from __future__ import annotations

from ..federation_cases import requires_arguments
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
