"""The keys of a small price range, kept in another sort's order.

A price range under another sort (`min_price=10&max_price=20`, newest first) is a range of
the price index in the wrong order: its products are read (at most CANDIDATE_LIMIT of them,
key-only) and ordered here. The ordered keys are kept, per process, under the generation
of what moves keys (a product added, deleted, renamed, repriced or moved), so that a page
reads only its own products by id, as a page of an index range does; the first page after
a write reads the range's keys again. Bounded: at most `max_entries` ranges of at most
CANDIDATE_LIMIT keys each.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

from platform_kit.ordered_keys import SEP

__all__ = ["CandidateKeys", "KeyPage", "key_page", "product_id_of"]


@dataclass(frozen=True, slots=True)
class KeyPage:
    """The keys of a page, in listing order, and whether more follow."""

    keys: list[str]
    more: bool


def product_id_of(key: str) -> str:
    """A catalog key ends with the product's id after the last separator (a part's own
    NULs are escaped, so the last SEP is the one before the id)."""
    return key[key.rindex(SEP) + len(SEP) :]


def key_page(
    keys: Sequence[str], *, after: str | None, descending: bool, offset: int, limit: int
) -> KeyPage:
    """The page of ascending `keys` that a listing in that order (or its reverse) shows:
    after the cursor's key `after` when there is one, else from `offset`."""
    if descending:
        end = len(keys) if after is None else bisect_left(keys, after)
        start = offset if after is None else 0
        shown = list(reversed(keys[max(0, end - start - limit) : max(0, end - start)]))
        return KeyPage(shown, end - start - limit > 0)
    begin = (0 if after is None else bisect_right(keys, after)) + (offset if after is None else 0)
    return KeyPage(list(keys[begin : begin + limit]), begin + limit < len(keys))


class CandidateKeys:
    """Ordered key lists kept under a generation, least recently used first out."""

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], list[str]]] = OrderedDict()

    async def keys(
        self,
        name: Hashable,
        generations: tuple[int, ...],
        read: Callable[[], Awaitable[list[str]]],
    ) -> list[str]:
        entry = self._entries.get(name)
        if entry is not None and entry[0] == generations:
            self._entries.move_to_end(name)
            return entry[1]
        keys = sorted(await read())
        self._entries[name] = (generations, keys)
        self._entries.move_to_end(name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return keys
