"""Progressive @override (Federation 2.7): a field moves from one subgraph to another for a
share of requests, by label. `@override(from: "a", label: "percent(25)")` sends a quarter of
requests to the new owner; any other label (say "beta") stays off until switched on.

Each request draws its set of active labels once; that set picks the supergraph view the
plan is made for, and is part of the plan cache's key (one plan per set, at most two a
label). Settings can force labels on or off for every request."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["OverrideLabels", "percentage"]

_PERCENT = re.compile(r"percent\((\d{1,3}(?:\.\d{1,8})?)\)")


def percentage(label: str) -> float | None:
    """The share of requests a `percent(N)` label is active for, or None for other labels."""
    match = _PERCENT.fullmatch(label)
    if match is None:
        return None
    value = float(match.group(1))
    return value if value <= 100 else None


@dataclass(frozen=True)
class OverrideLabels:
    known: frozenset[str]
    forced_on: frozenset[str] = frozenset()
    forced_off: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, known: Iterable[str], forced_on: Iterable[str] = (), forced_off: Iterable[str] = ()
    ) -> OverrideLabels:
        return cls(frozenset(known), frozenset(forced_on), frozenset(forced_off))

    def draw(self, chance: Callable[[], float] = random.random) -> frozenset[str]:
        """The labels active for one request."""
        if not self.known:
            return frozenset()
        active = set()
        for label in self.known:
            if label in self.forced_off:
                continue
            if label in self.forced_on:
                active.add(label)
                continue
            share = percentage(label)
            # not a security decision: which of two equivalent subgraphs serves a field
            if share is not None and chance() * 100 < share:
                active.add(label)
        return frozenset(active)
