"""Listing totals remembered while nothing they count has changed.

Counting reads what it counts (up to EXACT_COUNT_LIMIT items), so a total is kept, per
process, under the generations of what it depends on. Every write that can change a count
moves its generation on, after the write: a total counted before the write was kept under
the older generation and is never served again; one counted after it, under the older
generation too, is only recounted once more. The generations live in the database (one
document per listing), so every replica sees every write. Entries also expire after
`ttl_seconds`, which bounds the staleness a write that crashed before moving its
generation on could leave.

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from platform_kit.keyset_walk import Counting
from platform_kit.paging import EXACT_COUNT_LIMIT, Count

__all__ = ["CountCache", "ScopeCounts", "capped"]

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Entry:
    generations: tuple[int, ...]
    counted_at: float
    count: Count
    going_on: Counting | None = None  # a count in steps that is not done


class CountCache:
    def __init__(
        self,
        state: AsyncCollection[Document],
        listing: str,
        *,
        max_entries: int = 1024,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.listing = listing
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    async def moved(self, *aspects: str) -> None:
        """What a write changed (e.g. "catalog", "stock"): the totals that depend on it are
        counted again."""
        update = {"$inc": dict.fromkeys(aspects, 1)}
        try:
            await self.state.update_one({"_id": self.listing}, update, upsert=True)
        except DuplicateKeyError:  # two first writes raced to create the document
            await self.state.update_one({"_id": self.listing}, update)

    async def generations(self, aspects: tuple[str, ...]) -> tuple[int, ...]:
        # only the generations: the document also holds move logs (platform_kit.move_log)
        fields = dict.fromkeys(aspects, 1)
        state = await self.state.find_one({"_id": self.listing}, fields) or {}
        return tuple(int(state.get(aspect, 0)) for aspect in aspects)

    async def total(
        self, key: Hashable, aspects: Iterable[str], count: Callable[[], Awaitable[Count]]
    ) -> Count:
        aspects = tuple(aspects)
        generations = await self.generations(aspects)
        now = self.clock()
        entry = self._entries.get((key, aspects))
        if (
            entry is not None
            and entry.generations == generations
            and now - entry.counted_at < self.ttl_seconds
        ):
            self._entries.move_to_end((key, aspects))
            return entry.count
        counted = await count()
        self._keep((key, aspects), _Entry(generations, now, counted))
        return counted

    async def total_in_steps(
        self,
        key: Hashable,
        aspects: Iterable[str],
        step: Callable[[Counting | None], Awaitable[Counting]],
    ) -> Count:
        """A total counted a bounded step per request (`step` goes on from where the last one
        stopped, or starts): "at least" what the steps so far found until the count is done,
        then kept as `total` keeps it. A write that changes what it counts starts it again."""
        aspects = tuple(aspects)
        generations = await self.generations(aspects)
        now = self.clock()
        entry = self._entries.get((key, aspects))
        if (
            entry is None
            or entry.generations != generations
            or now - entry.counted_at >= self.ttl_seconds
        ):
            entry = None
        elif entry.going_on is None:
            self._entries.move_to_end((key, aspects))
            return entry.count
        counting = await step(entry.going_on if entry is not None else None)
        going_on = counting if counting.after is not None else None
        # the time a count started bounds how stale it may be
        started = entry.counted_at if entry is not None else now
        self._keep((key, aspects), _Entry(generations, started, counting.count, going_on))
        return counting.count

    def _keep(self, name: Hashable, entry: _Entry) -> None:
        self._entries[name] = entry
        self._entries.move_to_end(name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def capped(value: int) -> Count:
    """A stored count as a listing's total: exact up to EXACT_COUNT_LIMIT, then "at least"
    that (a count a crash left below 0 for a moment is 0)."""
    value = max(value, 0)
    return Count(min(value, EXACT_COUNT_LIMIT), exact=value <= EXACT_COUNT_LIMIT)


class ScopeCounts:
    """Exact counts of a listing's scopes (all its documents, one category's, ...) kept beside
    them, so that the total of a listing that is a whole scope costs one read. Each write
    that adds documents to a scope or removes them moves its count right after the write; a
    crash between the two leaves a count off, which `recount` mends (at start-up)."""

    def __init__(self, state: AsyncCollection[Document], listing: str) -> None:
        self.state = state
        self.listing = listing

    def _id(self, scope: str) -> str:
        return f"{self.listing}:count:{scope}"

    async def moved(self, changes: Mapping[str, int]) -> None:
        for scope, delta in changes.items():
            if delta:
                update = {"$inc": {"n": delta}}
                try:
                    await self.state.update_one({"_id": self._id(scope)}, update, upsert=True)
                except DuplicateKeyError:  # two first writes raced to create the document
                    await self.state.update_one({"_id": self._id(scope)}, update)

    async def count(self, scope: str) -> Count:
        document = await self.state.find_one({"_id": self._id(scope)}) or {}
        return capped(int(document.get("n", 0)))

    async def values(self, scopes: Iterable[str]) -> dict[str, int]:
        """The stored counts of `scopes` (0 for one never counted), in one read."""
        wanted = {self._id(scope): scope for scope in scopes}
        found = self.state.find({"_id": {"$in": list(wanted)}}, {"n": 1})
        values = dict.fromkeys(wanted.values(), 0)
        async for document in found:
            values[wanted[document["_id"]]] = int(document.get("n", 0))
        return values

    async def total(self, terms: Mapping[str, int]) -> Count:
        """A listing's total from stored counts: the sum of each scope's count times its
        sign in `terms` (e.g. a category's products less its products out of stock)."""
        values = await self.values(terms)
        return capped(sum(values[scope] * sign for scope, sign in terms.items()))

    async def replace(self, counts: Mapping[str, int], known_scopes: Iterable[str]) -> None:
        """The counts found by a full recount; scopes it found empty are set to 0."""
        for scope in {*known_scopes, *counts}:
            await self.state.update_one(
                {"_id": self._id(scope)}, {"$set": {"n": counts.get(scope, 0)}}, upsert=True
            )

    async def scopes(self) -> list[str]:
        prefix = self._id("")
        found = self.state.find({"_id": {"$gte": prefix, "$lt": prefix + "\U0010ffff"}}, {"_id": 1})
        return [document["_id"][len(prefix) :] async for document in found]
