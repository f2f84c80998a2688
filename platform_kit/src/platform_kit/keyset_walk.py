"""A listing read as bounded ranges of one index, whatever the database's planner does with a
limit: the documents of a listing carry their key in one field (platform_kit.ordered_keys),
and sampled documents carry it again in a sparse fence field. The walk asks for the fences
of the top tier in its range, then for those of the next tier between two of them, and so
on, and reads the documents between two consecutive tier-1 fences: about 32 at a time. Each
query is an index range with both ends set, answered in index order (no sort in memory),
so a page costs a few small queries at 100 rows or at 10^6, deep cursors included. Each
query is one turn at the database (platform_kit.database_turns).

MongoDB would also serve `find(key > k).sort(key).limit(n)` from the index; an embedded
server that reads the whole range before applying the limit would not. Bounded ranges are
cheap on both.

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection

from platform_kit.database_turns import database_turn
from platform_kit.ordered_keys import TOP_TIER, fence_value
from platform_kit.paging import EXACT_COUNT_LIMIT, Count

__all__ = [
    "Counting",
    "KeyRange",
    "KeysetWalk",
    "OrderedField",
    "Taken",
    "count",
    "count_step",
    "take",
]

Document = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OrderedField:
    """`key`: the field with each listed document's key; `fence`: the sparse field with the
    fence value of the sampled ones (both indexed, the fence index sparse)."""

    key: str
    fence: str


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keys strictly between `low` and `high`; None leaves that end open."""

    low: str | None = None
    high: str | None = None

    def narrowed(self, after: str | None, *, descending: bool) -> KeyRange:
        """The part of the range that follows the key `after` in walk order."""
        if after is None:
            return self
        if descending:
            high = after if self.high is None else min(self.high, after)
            return KeyRange(self.low, high)
        low = after if self.low is None else max(self.low, after)
        return KeyRange(low, self.high)


class KeysetWalk:
    """The documents of a key range in key order, a window (about 32 documents) at a time.

    With `match` (an equality on another field, `{field: value}`), only the documents of
    each window that it matches are read, through a compound index (that field, then the
    key): the fences still bound every read, so a window holds at most what lies between
    two fences. A multikey field's index walk is not in key order on every server (the
    embedded one sorts it in memory), so such a window is ordered here: it is bounded."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        field: OrderedField,
        projection: Mapping[str, Any] | None = None,
        *,
        match: Mapping[str, Any] | None = None,
        window_tier: int = 0,
    ) -> None:
        self.collection = collection
        self.field = field
        self.projection = projection
        self.match = dict(match) if match else None
        self.window_tier = window_tier

    async def windows(
        self, keys: KeyRange, *, descending: bool = False, window_tier: int | None = None
    ) -> AsyncIterator[list[Document]]:
        """With `window_tier` t > 0, a window is what lies between two fences of tier above
        t (about 32^(t+1) documents): fewer, larger reads, for a reader that wants many
        documents' keys and nothing else, or that matches few of them (default: the
        walk's own)."""
        if window_tier is None:
            window_tier = self.window_tier
        start, stop = (keys.high, keys.low) if descending else (keys.low, keys.high)
        async for window in self._walk(TOP_TIER, start, stop, False, descending, window_tier):
            yield window

    async def _walk(
        self,
        tier: int,
        start: str | None,
        stop: str | None,
        stop_included: bool,
        desc: bool,
        window_tier: int,
    ) -> AsyncIterator[list[Document]]:
        if tier <= window_tier:
            yield await self._documents(start, stop, stop_included, desc)
            return
        for fence in await self._fences(tier, start, stop, desc):
            async for window in self._walk(tier - 1, start, fence, True, desc, window_tier):
                yield window
            start = fence
        async for window in self._walk(tier - 1, start, stop, stop_included, desc, window_tier):
            yield window

    async def _fences(
        self, tier: int, start: str | None, stop: str | None, desc: bool
    ) -> list[str]:
        """The keys of the fences of exactly `tier` strictly between start and stop. Between
        two fences of the tier above there are none of that tier, so none are missed."""
        low, high = (stop, start) if desc else (start, stop)
        bounds = {
            "$gt": fence_value(tier, low) if low is not None else fence_value(tier, ""),
            "$lt": fence_value(tier, high) if high is not None else f"{tier}\x01",
        }
        cursor = self.collection.find(
            {self.field.fence: bounds}, {self.field.fence: 1, "_id": 0}
        ).sort(self.field.fence, -1 if desc else 1)
        async with database_turn():
            return [doc[self.field.fence][2:] async for doc in cursor]

    async def _documents(
        self, start: str | None, stop: str | None, stop_included: bool, desc: bool
    ) -> list[Document]:
        bounds: dict[str, str] = {}
        if start is not None:
            bounds["$lt" if desc else "$gt"] = start
        if stop is not None:
            if desc:
                bounds["$gte" if stop_included else "$gt"] = stop
            else:
                bounds["$lte" if stop_included else "$lt"] = stop
        if not bounds:
            bounds["$gte"] = ""  # documents that have a key: the listed ones
        if self.match is not None:
            # ordered here (the projection keeps the key): see the class
            async with database_turn():
                found = await self.collection.find(
                    {**self.match, self.field.key: bounds}, self.projection
                ).to_list()
            found.sort(key=lambda document: str(document[self.field.key]), reverse=desc)
            return found
        cursor = self.collection.find({self.field.key: bounds}, self.projection).sort(
            self.field.key, -1 if desc else 1
        )
        async with database_turn():
            return await cursor.to_list()


@dataclass(frozen=True, slots=True)
class Taken(Generic[T]):
    """A page's items, and the last item looked at when more may follow (the next page
    starts after it: it may be one that the filter left out, when the scan stopped at its
    bound before the page was full)."""

    items: list[T]
    resume_after: T | None


async def take(
    walk: KeysetWalk,
    keys: KeyRange,
    load: Callable[[Document], T],
    *,
    descending: bool,
    skip: int,
    limit: int,
    accept: Callable[[T], bool] = lambda _item: True,
    scan_limit: int | None = None,
) -> Taken[T]:
    """`limit` items of the range that `accept` keeps, after skipping `skip` of them. With
    `scan_limit`, stops once that many documents were read (a filter the index does not
    serve may keep few): the page is then shorter, and the next one resumes after the last
    document read."""
    items: list[T] = []
    scanned = 0
    last: T | None = None
    async for window in walk.windows(keys, descending=descending):
        for document in window:
            item = load(document)
            scanned += 1
            if accept(item):
                if skip:
                    skip -= 1
                elif len(items) == limit:
                    return Taken(items, items[-1])
                else:
                    items.append(item)
            last = item
            if scan_limit is not None and scanned >= scan_limit:
                return Taken(items, last)
    return Taken(items, None)


async def count(
    walk: KeysetWalk,
    keys: KeyRange,
    load: Callable[[Document], T],
    accept: Callable[[T], bool] = lambda _item: True,
    *,
    limit: int = EXACT_COUNT_LIMIT,
    scan_limit: int | None = None,
) -> Count:
    """How many of the range `accept` keeps: exact up to `limit`, else "at least `limit`";
    with `scan_limit`, "at least" what the first `scan_limit` documents held."""
    matched = scanned = 0
    async for window in walk.windows(keys):
        for document in window:
            scanned += 1
            if accept(load(document)):
                matched += 1
                if matched > limit:
                    return Count(limit, exact=False)
            if scan_limit is not None and scanned >= scan_limit:
                return Count(matched, exact=False)
    return Count(matched, exact=True)


@dataclass(frozen=True, slots=True)
class Counting:
    """A count made in steps: what it found so far and, while the range goes on, the key of
    the last document it read (`after`; None once the count is done)."""

    count: Count
    after: str | None = None


async def count_step(
    walk: KeysetWalk,
    keys: KeyRange,
    load: Callable[[Document], T],
    accept: Callable[[T], bool],
    *,
    step: int,
    since: Counting | None = None,
    limit: int = EXACT_COUNT_LIMIT,
) -> Counting:
    """`count`, a step of at most `step` documents at a time: from the start of the range, or
    on from where `since` stopped. While it goes on, the count is "at least" what it found.
    The walk's projection must keep the key field."""
    matched = since.count.value if since is not None else 0
    rest = keys.narrowed(since.after, descending=False) if since is not None else keys
    scanned = 0
    async for window in walk.windows(rest):
        for document in window:
            scanned += 1
            if accept(load(document)):
                matched += 1
                if matched > limit:
                    return Counting(Count(limit, exact=False))
            if scanned >= step:
                return Counting(Count(matched, exact=False), document[walk.field.key])
    return Counting(Count(matched))
