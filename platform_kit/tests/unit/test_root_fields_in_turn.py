"""A subgraph runs a query's root fields in turn, so one request's aliases never put all
their database work in front of other clients' at once."""

from __future__ import annotations

import asyncio
import warnings

import strawberry

with warnings.catch_warnings():  # Strawberry deprecates how the kit's Money scalar is made
    warnings.simplefilter("ignore", DeprecationWarning)
    from platform_kit.graphql import SubgraphSchema

RUNNING = {"now": 0, "most": 0}


@strawberry.type
class Query:
    @strawberry.field
    async def work(self) -> int:
        RUNNING["now"] += 1
        RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
        for _ in range(3):  # as a database call would, it lets other tasks run meanwhile
            await asyncio.sleep(0)
        RUNNING["now"] -= 1
        return 1


async def test_a_querys_root_fields_run_one_after_another() -> None:
    schema = SubgraphSchema(query=Query)
    result = await schema.execute("{ a: work b: work c: work }")
    assert result.errors is None
    assert result.data == {"a": 1, "b": 1, "c": 1}
    assert RUNNING["most"] == 1
