"""Where a listing's n-th document is, without reading the n before it.

A page at an offset is a keyset page (platform_kit.keyset_walk) that starts after a known key.
An OffsetIndex remembers, per listing (collection, ordered field, key range, direction),
anchors in its first MAX_OFFSET documents: keys, each with its position (how many listed
keys come up to it and with it), about every `spacing`-th. A page at any offset starts after
the last anchor at or before it and skips what lies between: fewer than 2 x `spacing`
documents, the same few bounded reads at offset 10,000 as at offset 40.

Anchors are kept per process under the generation of what moves keys (platform_kit.count_
cache: every such write moves it on right after it). When the generation has moved:
- with a move log (platform_kit.move_log), the anchors follow the logged moves: a key that
  entered before an anchor moves the anchor's position on by one, one that left moves it
  back; no key is read. Where moves crowd a gap between two anchors past 2 x `spacing`, the
  gap alone is read again when an offset falls in it. Anchors follow the log only if what
  they were read from was the listing at their generation (no announced write in flight
  while they were read); else, and when the log cannot tell (too far behind, a bulk load),
- the anchors are read again, as far as an offset asks and no further: one pass over the
  keys, key-only, by large windows (about 1,000 keys a read; on SecantusDB ~0.04 ms a key,
  ~400 ms for 10,000), paid by the first deep offset read after the write.
An offset page is therefore exactly the slice of the listing's order whenever no write is
in flight, the same guarantee as the total's.

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from platform_kit.count_cache import CountCache
from platform_kit.keyset_walk import KeyRange, KeysetWalk
from platform_kit.move_log import KeyMove, LogState, MoveLog
from platform_kit.paging import MAX_OFFSET

__all__ = ["ANCHOR_SPACING", "OffsetIndex", "Seek"]

Document = dict[str, Any]
ANCHOR_SPACING = 32  # a page skips fewer than 2 x this many documents past its anchor
# keys up to this far are read by windows between fences of tier 1 and up (about 32 keys a
# read); further, by windows between fences of tier 2 and up (about 1,000 keys a read)
SMALL_WINDOWS_UP_TO = 512


def _precedes(a: str, b: str, descending: bool) -> bool:
    """Whether key `a` comes before key `b` in walk order."""
    return a > b if descending else a < b


@dataclass(slots=True)
class _Anchors:
    generation: tuple[int, ...]
    keys: list[str] = field(default_factory=list)  # in walk order
    positions: list[int] = field(default_factory=list)  # listed keys up to keys[i], with it
    last_key: str | None = None  # the last key read along the range, at position `read`
    read: int = 0
    complete: bool = False  # the range was read to its end: it holds `read` keys
    follows_log: bool = False  # read from the listing as it was at `generation`

    def copy(self) -> _Anchors:
        return _Anchors(
            self.generation,
            list(self.keys),
            list(self.positions),
            self.last_key,
            self.read,
            self.complete,
            self.follows_log,
        )

    def before(self, target: int) -> int:
        """The index of the last anchor at or before position `target` (-1: none)."""
        found = -1
        for index, position in enumerate(self.positions):
            if position > target:
                break
            found = index
        return found

    def skip_to(self, target: int) -> int:
        """How many keys a page at `target` skips after its anchor."""
        index = self.before(target)
        base = self.positions[index] if index >= 0 else 0
        if index == len(self.keys) - 1 and self.complete:
            return max(min(target, self.read) - base, 0)
        return target - base

    def apply(self, move: KeyMove, keys: KeyRange, descending: bool) -> None:
        if move.old == move.new:
            return
        if move.old is not None and _within(keys, move.old):
            self._shift(move.old, -1, descending)
        if move.new is not None and _within(keys, move.new):
            self._shift(move.new, +1, descending)

    def _shift(self, key: str, by: int, descending: bool) -> None:
        for index, anchor in enumerate(self.keys):
            if not _precedes(anchor, key, descending):  # the key is at or before the anchor
                self.positions[index] += by
        if self.last_key is not None and not _precedes(self.last_key, key, descending):
            self.read += by
        elif by > 0:
            self.complete = False  # a key beyond what was read: read on to see the end


def _within(keys: KeyRange, key: str) -> bool:
    return (keys.low is None or key > keys.low) and (keys.high is None or key < keys.high)


def _between(keys: KeyRange, after: str | None, before: str | None, descending: bool) -> KeyRange:
    """The part of the range after key `after` and before key `before`, in walk order."""
    narrowed = keys.narrowed(after, descending=descending)
    if before is None:
        return narrowed
    if descending:
        low = before if narrowed.low is None else max(narrowed.low, before)
        return KeyRange(low, narrowed.high)
    high = before if narrowed.high is None else min(narrowed.high, before)
    return KeyRange(narrowed.low, high)


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
        log: MoveLog | None = None,
        spacing: int = ANCHOR_SPACING,
        max_offset: int = MAX_OFFSET,
        max_entries: int = 256,
        small_windows_up_to: int = SMALL_WINDOWS_UP_TO,
    ) -> None:
        """`aspects`: the generations (of `counts`) that every write moving a key moves. With
        `log` (the move log of the only aspect), anchors follow the logged moves."""
        self.counts = counts
        self.aspects = tuple(aspects)
        if log is not None and self.aspects != (log.aspect,):
            raise ValueError("a move log logs the one aspect the offsets depend on")
        self.log = log
        self.spacing = spacing
        self.max_offset = max_offset
        self.max_entries = max_entries
        self.small_windows_up_to = small_windows_up_to
        self._entries: OrderedDict[Hashable, _Anchors] = OrderedDict()
        self._reading: dict[Hashable, asyncio.Lock] = {}

    async def _state(self) -> tuple[tuple[int, ...], bool]:
        """The generations now, and whether what is read now is the listing at them."""
        if self.log is None:
            return await self.counts.generations(self.aspects), False
        state: LogState = await self.log.state_now()
        return (state.generation,), state.settled

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
        what decides it must move one of the index's generations when it changes (and a
        listing with a move log shows every document of the range)."""
        target = min(offset, self.max_offset)
        if target < self.spacing:
            return Seek(keys, offset)
        generation, _settled = await self._state()
        name = (walk.collection.full_name, walk.field, keys, descending)
        anchors = self._entries.get(name)
        if not self._serves(anchors, generation, target):
            # requests that come while the anchors are read wait for them, not read them too
            lock = self._reading.setdefault(name, asyncio.Lock())
            async with lock:
                anchors = self._entries.get(name)
                if not self._serves(anchors, generation, target):
                    # brought on in a copy: a request may be using the stored one
                    anchors = await self._current(
                        anchors, generation, walk.field.key, keys, descending
                    )
                    if anchors.skip_to(target) >= 2 * self.spacing:
                        await self._read_gap(
                            walk, keys, descending, anchors, target, listed, tuple(listed_fields)
                        )
            if not lock.locked():
                self._reading.pop(name, None)
        assert anchors is not None
        self._entries[name] = anchors
        self._entries.move_to_end(name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        index = anchors.before(target)
        if index < 0:
            return Seek(keys, offset)
        after = keys.narrowed(anchors.keys[index], descending=descending)
        return Seek(after, offset - anchors.positions[index])

    def _serves(self, anchors: _Anchors | None, generation: tuple[int, ...], target: int) -> bool:
        if anchors is None or anchors.generation != generation:
            return False
        return anchors.skip_to(target) < 2 * self.spacing

    async def _current(
        self,
        anchors: _Anchors | None,
        generation: tuple[int, ...],
        key_field: str,
        keys: KeyRange,
        descending: bool,
    ) -> _Anchors:
        """The anchors at `generation` or later: those known, moved on by the log where it
        can tell, or none yet."""
        if anchors is not None and anchors.generation == generation:
            return anchors.copy()
        if anchors is not None and anchors.follows_log and self.log is not None:
            logged = await self.log.since(anchors.generation[0])
            if logged is not None:
                now, writes = logged
                moved = anchors.copy()
                for moves in writes:
                    for move in moves:
                        if move.field == key_field:
                            moved.apply(move, keys, descending)
                moved.generation = (now,)
                return moved
        # whether they may follow the log is known once they are read (_read_gap)
        return _Anchors(generation, follows_log=self.log is not None)

    async def _read_gap(
        self,
        walk: KeysetWalk,
        keys: KeyRange,
        descending: bool,
        anchors: _Anchors,
        target: int,
        listed: Callable[[Document], bool] | None,
        listed_fields: tuple[str, ...],
    ) -> None:
        """Reads the keys after the last anchor at or before `target` (up to the next
        anchor, or on along the range) until `target` is within `spacing` of an anchor,
        adding one every `spacing` keys."""
        index = anchors.before(target)
        start_key = anchors.keys[index] if index >= 0 else None
        position = anchors.positions[index] if index >= 0 else 0
        tail = index == len(anchors.keys) - 1
        stop_key = None if tail else anchors.keys[index + 1]
        key_field = walk.field.key
        projection = {key_field: 1, "_id": 0, **dict.fromkeys(listed_fields, 1)}
        keys_only = KeysetWalk(walk.collection, walk.field, projection)
        far = target - position > self.small_windows_up_to
        found_keys: list[str] = []
        found_positions: list[int] = []
        last_anchor = position
        last_key = start_key
        ended = True
        gap = _between(keys, start_key, stop_key, descending)
        async for window in keys_only.windows(gap, descending=descending, window_tier=int(far)):
            for document in window:
                if listed is not None and not listed(document):
                    continue
                position += 1
                last_key = document[key_field]
                if position - last_anchor >= self.spacing:
                    found_keys.append(last_key)
                    found_positions.append(position)
                    last_anchor = position
            if target - last_anchor < self.spacing:
                ended = False
                break
        anchors.keys[index + 1 : index + 1] = found_keys
        anchors.positions[index + 1 : index + 1] = found_positions
        if tail:
            anchors.last_key, anchors.read, anchors.complete = last_key, position, ended
        # what was read is the listing at the anchors' generation only if no write was in
        # flight before the read and none came since: else they are read again next time
        after, settled = await self._state()
        if not settled or after != anchors.generation:
            anchors.follows_log = False
