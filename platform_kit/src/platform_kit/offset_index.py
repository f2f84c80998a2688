"""Where a listing's n-th document is, without reading the n before it.

A page at an offset is a keyset page (platform_kit.keyset_walk) that starts after the key at
position offset - 1. An OffsetIndex remembers, per listing (collection, ordered field, key
range, direction), every `spacing`-th key of the listing's first MAX_OFFSET documents, its
anchors: a page at any offset starts after the nearest anchor at or before it and skips
fewer than `spacing` documents, the same few bounded reads at offset 10,000 as at offset 40.

Anchors hold while no document enters the listing, leaves it or moves in it. They are kept,
per process, under the generations of what moves keys (platform_kit.count_cache: every such
write moves them on right after it), and read again once those moved, as far as an offset
asks and no further: one pass over the keys, key-only, by large windows (about 1,000 keys a
read). On SecantusDB that is ~0.04 ms a key (~400 ms for 10,000), paid by the first deep
offset read after a write; every other read pays one read of the generations. An offset
page is therefore exactly the slice of the listing's order whenever no write is in flight,
the same guarantee as the total's.

Counted fences (each fence keeping how many keys follow it up to the next) would make the
rebuild unnecessary, at the cost of finding and updating the fences around every key a
write moves (three fence reads and a write per ordered field, six fields a product) and of
keeping those counts right under concurrent writes; catalog writes are rare next to reads,
so the anchors are rebuilt instead.

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from platform_kit.count_cache import CountCache
from platform_kit.keyset_walk import KeyRange, KeysetWalk
from platform_kit.paging import MAX_OFFSET

__all__ = ["ANCHOR_SPACING", "OffsetIndex", "Seek"]

Document = dict[str, Any]
ANCHOR_SPACING = 32  # a page skips fewer than this many documents past its anchor
# keys up to this far are read by windows between fences of tier 1 and up (about 32 keys a
# read); further, by windows between fences of tier 2 and up (about 1,000 keys a read)
SMALL_WINDOWS_UP_TO = 512


@dataclass(slots=True)
class _Anchors:
    generations: tuple[int, ...]
    keys: list[str] = field(default_factory=list)  # keys[i] is at position (i+1)*spacing - 1
    last_key: str | None = None  # the last key read, at position read - 1
    read: int = 0
    complete: bool = False  # the range was read to its end

    def copy(self) -> _Anchors:
        return _Anchors(self.generations, list(self.keys), self.last_key, self.read, self.complete)


@dataclass(frozen=True, slots=True)
class Seek:
    """Where a page starts: the documents of `keys` (in walk order) after skipping `skip`."""

    keys: KeyRange
    skip: int


class OffsetIndex:
    def __init__(
        self,
        counts: CountCache,
        aspects: Iterable[str],
        *,
        spacing: int = ANCHOR_SPACING,
        max_offset: int = MAX_OFFSET,
        max_entries: int = 256,
        small_windows_up_to: int = SMALL_WINDOWS_UP_TO,
    ) -> None:
        """`aspects`: the generations (of `counts`) that every write moving a key moves."""
        self.counts = counts
        self.aspects = tuple(aspects)
        self.spacing = spacing
        self.max_offset = max_offset
        self.max_entries = max_entries
        self.small_windows_up_to = small_windows_up_to
        self._entries: OrderedDict[Hashable, _Anchors] = OrderedDict()
        self._reading: dict[Hashable, asyncio.Lock] = {}

    async def seek(
        self,
        walk: KeysetWalk,
        keys: KeyRange,
        *,
        descending: bool,
        offset: int,
        listed: Callable[[Document], bool] | None = None,
        listed_fields: Iterable[str] = (),
    ) -> Seek:
        """Where the page at `offset` of the range `keys` of `walk` starts. `listed`: which
        documents of the range the listing shows (all by default), judged on `listed_fields`;
        what decides it must move one of the index's generations when it changes."""
        wanted = min(offset, self.max_offset) // self.spacing
        if wanted == 0:
            return Seek(keys, offset)
        generations = await self.counts.generations(self.aspects)
        name = (walk.collection.full_name, walk.field, keys, descending)
        anchors = self._known(name, generations)
        if len(anchors.keys) < wanted and not anchors.complete:
            # requests that come while the anchors are read wait for them, not read them too
            lock = self._reading.setdefault(name, asyncio.Lock())
            async with lock:
                anchors = self._known(name, generations)
                if len(anchors.keys) < wanted and not anchors.complete:
                    # read on into a copy: a request may be using the stored one
                    anchors = anchors.copy()
                    await self._read_on(
                        walk, keys, descending, anchors, wanted, listed, tuple(listed_fields)
                    )
            if not lock.locked():
                self._reading.pop(name, None)
        self._entries[name] = anchors
        self._entries.move_to_end(name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        found = min(wanted, len(anchors.keys))
        if found == 0:
            return Seek(keys, offset)
        after = anchors.keys[found - 1]  # the key at position found * spacing - 1
        return Seek(keys.narrowed(after, descending=descending), offset - found * self.spacing)

    def _known(self, name: Hashable, generations: tuple[int, ...]) -> _Anchors:
        anchors = self._entries.get(name)
        if anchors is None or anchors.generations != generations:
            return _Anchors(generations)
        return anchors

    async def _read_on(
        self,
        walk: KeysetWalk,
        keys: KeyRange,
        descending: bool,
        anchors: _Anchors,
        wanted: int,
        listed: Callable[[Document], bool] | None,
        listed_fields: tuple[str, ...],
    ) -> None:
        key_field = walk.field.key
        projection = {key_field: 1, "_id": 0, **dict.fromkeys(listed_fields, 1)}
        keys_only = KeysetWalk(walk.collection, walk.field, projection)
        window_tier = 0 if wanted * self.spacing <= self.small_windows_up_to else 1
        rest = keys.narrowed(anchors.last_key, descending=descending)
        async for window in keys_only.windows(rest, descending=descending, window_tier=window_tier):
            for document in window:
                if listed is not None and not listed(document):
                    continue
                anchors.read += 1
                anchors.last_key = document[key_field]
                if anchors.read % self.spacing == 0:
                    anchors.keys.append(anchors.last_key)
            if len(anchors.keys) >= wanted:
                return
        anchors.complete = True
