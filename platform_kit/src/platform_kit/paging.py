"""Pages of a listing, the same in every service: the request's bounds, the opaque keyset
cursor, and the page with the cursor of the next one.

A cursor is base64url JSON of the last item's sort key (as text), its id, the offset of the
next page and, where a listing sorts several ways, the sort it was issued for. So a cursor
page is a keyset range (no skip) that still reports its offset, and a cursor used with
another sort, or made by anyone but this API, is bad input.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from platform_kit.errors import InvalidInput

__all__ = [
    "DEFAULT_LIMIT",
    "EXACT_COUNT_LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "Count",
    "Cursor",
    "Page",
    "PageRequest",
    "Slice",
]

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Skipping costs what it skips: deeper pages are reached by filters or cursors (as search
# engines bound their result windows).
MAX_OFFSET = 10_000
# A total is counted up to this many, and beyond says "at least" (as Shopify's counts do).
EXACT_COUNT_LIMIT = 10_000
# a cursor's offset only reports where its page is: a keyset page costs the same anywhere
_MAX_CURSOR_OFFSET = 1_000_000_000
# a sort key's text: long enough for the longest value a service sorts by (a product name,
# 200 characters), short enough that a forged cursor carries no payload
MAX_KEY_LENGTH = 256
_ID = re.compile(r"^[0-9a-f]{24}$")  # the ids both services mint
_NOT_ISSUED = "is not a cursor this API issued"

K = TypeVar("K")
T = TypeVar("T")


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("cursor", _NOT_ISSUED) from None
    if not isinstance(data, dict):
        raise InvalidInput("cursor", _NOT_ISSUED)
    return data


@dataclass(frozen=True, slots=True)
class Cursor(Generic[K]):
    key: K
    last_id: str
    offset: int
    sort: str | None = None

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else str(self.key)
        payload: dict[str, Any] = {"k": key, "i": self.last_id, "o": self.offset}
        if self.sort is not None:
            payload["s"] = self.sort
        return _encode(payload)

    @classmethod
    def decode(
        cls, token: str, parse_key: Callable[[str], K], *, sort: str | None = None
    ) -> Cursor[K]:
        """`parse_key` turns the key's text back into the sort's value, raising ValueError
        (or ArithmeticError) for anything it would never have written."""
        data = _decode(token)
        raw_key, last_id, offset = data.get("k"), data.get("i"), data.get("o")
        issued_for = data.get("s")
        if not (
            isinstance(raw_key, str)
            and len(raw_key) <= MAX_KEY_LENGTH
            and isinstance(last_id, str)
            and _ID.match(last_id)
            and type(offset) is int
            and 0 <= offset <= _MAX_CURSOR_OFFSET
            and (issued_for is None if sort is None else isinstance(issued_for, str))
        ):
            raise InvalidInput("cursor", _NOT_ISSUED)
        try:
            key = parse_key(raw_key)
        except (ValueError, ArithmeticError):
            raise InvalidInput("cursor", _NOT_ISSUED) from None
        if issued_for != sort:
            raise InvalidInput("cursor", "was issued for another sort order")
        return cls(key=key, last_id=last_id, offset=offset, sort=sort)


@dataclass(frozen=True, slots=True)
class PageRequest(Generic[K]):
    limit: int
    offset: int
    cursor: Cursor[K] | None

    @classmethod
    def create(
        cls,
        *,
        limit: int | None,
        offset: int | None,
        cursor: str | None,
        parse_key: Callable[[str], K],
        sort: str | None = None,
    ) -> PageRequest[K]:
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
        if offset is not None and cursor is not None:
            raise InvalidInput("cursor", "give either offset or cursor, not both")
        if offset is not None and not 0 <= offset <= MAX_OFFSET:
            raise InvalidInput("offset", f"must be between 0 and {MAX_OFFSET}")
        if cursor is not None:
            decoded = Cursor.decode(cursor, parse_key, sort=sort)
            return cls(limit=limit, offset=decoded.offset, cursor=decoded)
        return cls(limit=limit, offset=offset or 0, cursor=None)


@dataclass(frozen=True, slots=True)
class Count:
    """How many items a listing has: exact, or (`exact` False) at least `value`."""

    value: int
    exact: bool = True

    @property
    def precision(self) -> str:
        return "exact" if self.exact else "at_least"


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """What storage found for a page: its items, the listing's total, and the last item it
    looked at while more may follow (the next page starts after it; when a filter the index
    does not serve kept few, that may be an item the page does not show)."""

    items: list[T]
    total: Count
    resume_after: T | None


@dataclass(slots=True)
class Page(Generic[T]):
    """A page of a listing (as GraphQL shows it too: platform_kit.graphql.Page)."""

    items: list[T]
    total: int
    total_precision: str  # "exact", or "at_least" when the count stopped at its bound
    limit: int
    offset: int
    next_cursor: str | None

    @classmethod
    def of(
        cls,
        items: list[T],
        total: Count,
        request: PageRequest[Any],
        after: Callable[[T, int], Cursor[Any]],
        resume_after: T | None,
    ) -> Page[T]:
        """The page of `items` found for `request`; while more follow (`resume_after`, the
        last item the listing looked at, is set), a cursor to the next page:
        `after(resume_after, next offset)`."""
        next_offset = request.offset + len(items)
        following = after(resume_after, next_offset).encode() if resume_after else None
        return cls(items, total.value, total.precision, request.limit, request.offset, following)
