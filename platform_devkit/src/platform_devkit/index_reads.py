"""Checking that a listing reads only index ranges, in index order: fences sampled densely
(so a few hundred documents cross every tier of platform_kit.keyset_walk), a listener that
records every `find` a client sends, and the explain() of each recorded shape."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["FindRecorder", "dense_tiers", "winning_plans"]


def dense_tiers() -> Iterator[int]:
    """Fence tiers for tests: a fence in 4, tier 2 in 16, tier 3 in 64."""
    for n in itertools.count(1):
        yield 3 if n % 64 == 0 else 2 if n % 16 == 0 else 1 if n % 4 == 0 else 0


class FindRecorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


async def winning_plans(
    db: AsyncDatabase[dict[str, Any]], finds: list[dict[str, Any]]
) -> dict[str, str]:
    """The winning plan of each distinct (filter, sort) among `finds`, as text, by shape."""
    shapes = {repr((f["filter"], f.get("sort"))): f for f in finds}
    plans = {}
    for shape, find in shapes.items():
        command = {k: v for k, v in find.items() if k in ("find", "filter", "sort", "projection")}
        explained = await db.command("explain", command)
        plans[shape] = repr(explained["queryPlanner"]["winningPlan"])
    return plans
