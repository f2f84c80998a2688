"""The recent key moves of a listing's writes, kept beside the generation they move, so that a
reader who knew the listing at generation G can bring what it derived from the keys (the
offset anchors of platform_kit.offset_index) to the current generation by applying the moves
of G+1, G+2, ... instead of reading the keys again.

The log lives in the listing's state document (platform_kit.count_cache), under the aspect it
logs: `<aspect>` is the generation, `<aspect>_log` its last LOG_SIZE entries. Every write that
moves the generation pushes one entry in the same atomic update, so the log's last entry is
always the current generation's, the one before it the previous generation's, and so on. An
entry is the moves of one write ([field, old key, new key], either key null), or null where
the write cannot say (a bulk load): a reader crossing it reads the keys again.

A reader that reads keys must know that no write it could see is still to be logged: a write
announces itself first (`<aspect>_begun`), then changes the documents, then logs and counts
itself done (`<aspect>_done`) with the generation. What a reader reads while begun == done,
and still so at the same generation afterwards, is exactly the listing at that generation.
A write that died between its announcement and its entry would leave the log unsettled for
good; after STALE_SECONDS a reader settles it with a null entry (conditionally, once).

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

__all__ = ["LOG_SIZE", "STALE_SECONDS", "KeyMove", "LogState", "MoveLog", "Write"]

Document = dict[str, Any]
LOG_SIZE = 64  # generations a reader may be behind and still catch up from the log
STALE_SECONDS = 120.0  # far beyond any request's deadline: the announcing write is gone


@dataclass(frozen=True, slots=True)
class KeyMove:
    """A document's key in `field` went from `old` to `new` (None: it had none, or has none)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class LogState:
    generation: int
    settled: bool  # no announced write is between its change and its log entry


class Write:
    """One announced write: what it moved, set once its change is made (`moved`), or that it
    changed nothing (`unchanged`). Left unset (the write failed half-way), the log gets a
    null entry: whatever it did, readers read the keys again."""

    def __init__(self) -> None:
        self.moves: list[KeyMove] | None = None
        self.changed = True

    def moved(self, moves: Sequence[KeyMove]) -> None:
        self.moves = list(moves)

    def unchanged(self) -> None:
        self.changed = False


class MoveLog:
    def __init__(
        self,
        state: AsyncCollection[Document],
        listing: str,
        aspect: str,
        *,
        size: int = LOG_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.listing = listing
        self.aspect = aspect
        self.size = size
        self.clock = clock
        self._log = f"{aspect}_log"
        self._begun = f"{aspect}_begun"
        self._done = f"{aspect}_done"
        self._begun_at = f"{aspect}_begun_at"

    async def _update(self, update: Document) -> None:
        try:
            await self.state.update_one({"_id": self.listing}, update, upsert=True)
        except DuplicateKeyError:  # two first writes raced to create the document
            await self.state.update_one({"_id": self.listing}, update)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Write]:
        """Around a write that may move keys: announced before, logged after."""
        # done += 0: the field exists for the conditional settling of a dead write
        announce = {"$inc": {self._begun: 1, self._done: 0}, "$set": {self._begun_at: self.clock()}}
        await self._update(announce)
        write = Write()
        try:
            yield write
        except BaseException:
            # the write's own error is the one to raise, even if the log cannot be written
            with contextlib.suppress(PyMongoError):
                await self._closed(write)
            raise
        await self._closed(write)

    async def _closed(self, write: Write) -> None:
        if write.changed:
            await self._logged(write.moves, {self._done: 1})
        else:
            await self._update({"$inc": {self._done: 1}})

    async def wrote(self, moves: Sequence[KeyMove] | None) -> None:
        """A write that was not announced (a bulk load: None, readers read the keys again)."""
        await self._logged(None if moves is None else list(moves), {})

    async def _logged(self, moves: list[KeyMove] | None, counted: dict[str, int]) -> None:
        entry = None if moves is None else [[m.field, m.old, m.new] for m in moves]
        await self._update(
            {
                "$inc": {self.aspect: 1, **counted},
                "$push": {self._log: {"$each": [entry], "$slice": -self.size}},
            }
        )

    async def state_now(self) -> LogState:
        fields = {self.aspect: 1, self._begun: 1, self._done: 1, self._begun_at: 1}
        document = await self.state.find_one({"_id": self.listing}, fields) or {}
        begun, done = int(document.get(self._begun, 0)), int(document.get(self._done, 0))
        generation = int(document.get(self.aspect, 0))
        if begun != done and self.clock() - float(document.get(self._begun_at, 0)) > STALE_SECONDS:
            # the announcing write died: settle it once, with an entry that says nothing
            result = await self.state.update_one(
                {"_id": self.listing, self._begun: begun, self._done: done},
                {
                    "$set": {self._done: begun},
                    "$inc": {self.aspect: 1},
                    "$push": {self._log: {"$each": [None], "$slice": -self.size}},
                },
            )
            if result.modified_count:
                return LogState(generation + 1, settled=True)
        return LogState(generation, settled=begun == done)

    async def since(self, generation: int) -> tuple[int, list[list[KeyMove]]] | None:
        """The moves of each write after `generation`, in order, and the generation they lead
        to; None when the log cannot tell (too far behind, or a write that said nothing)."""
        fields = {self.aspect: 1, self._log: 1}
        document = await self.state.find_one({"_id": self.listing}, fields) or {}
        now = int(document.get(self.aspect, 0))
        log = document.get(self._log) or []
        behind = now - generation
        if behind < 0 or behind > len(log):
            return None
        entries = log[len(log) - behind :] if behind else []
        if any(entry is None for entry in entries):
            return None
        return now, [[KeyMove(*move) for move in entry] for entry in entries]
