"""Listing products: filters, sorts, pages, and the opaque keyset cursor.

A cursor carries the last item's sort key and id and the offset of the next page, so a cursor
page is a keyset range (no skip) and still reports its offset. It is bound to its sort: a
cursor used with another sort is bad input.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from inventory.domain.errors import InvalidInput
from inventory.domain.product import validate_amount

__all__ = ["Cursor", "PageRequest", "ProductFilter", "ProductSort", "SortKey"]

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_QUERY_LENGTH = 200
MAX_OFFSET = 1_000_000  # deeper pages are reached by filters, not by skipping
_PRODUCT_ID = re.compile(r"^[0-9a-f]{24}$")


class SortKey(Enum):
    NAME = "name"
    PRICE = "price"
    CREATED_AT = "created_at"


class ProductSort(Enum):
    NAME = (SortKey.NAME, False)
    NAME_DESC = (SortKey.NAME, True)
    PRICE = (SortKey.PRICE, False)
    PRICE_DESC = (SortKey.PRICE, True)
    CREATED_AT = (SortKey.CREATED_AT, False)
    CREATED_AT_DESC = (SortKey.CREATED_AT, True)

    @property
    def key(self) -> SortKey:
        return self.value[0]

    @property
    def descending(self) -> bool:
        return bool(self.value[1])


@dataclass(frozen=True, slots=True)
class ProductFilter:
    q: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None

    @classmethod
    def create(
        cls,
        *,
        q: str | None = None,
        category: str | None = None,
        min_price: Decimal | None = None,
        max_price: Decimal | None = None,
        in_stock: bool | None = None,
    ) -> ProductFilter:
        if q is not None and len(q) > MAX_QUERY_LENGTH:
            raise InvalidInput("q", f"must be at most {MAX_QUERY_LENGTH} characters")
        if min_price is not None:
            min_price = validate_amount("min_price", min_price)
        if max_price is not None:
            max_price = validate_amount("max_price", max_price)
        if min_price is not None and max_price is not None and min_price > max_price:
            raise InvalidInput("min_price", "must not be greater than max_price")
        return cls(
            q=q or None,
            category=category,
            min_price=min_price,
            max_price=max_price,
            in_stock=in_stock,
        )


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    key: str | Decimal | datetime
    last_id: str
    offset: int

    def encode(self) -> str:
        key: str = self.key.isoformat() if isinstance(self.key, datetime) else str(self.key)
        raw = json.dumps(
            {"s": self.sort, "k": key, "i": self.last_id, "o": self.offset}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: ProductSort) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            data: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(data, dict):
                raise ValueError
            sort_name, raw_key, last_id, offset = data["s"], data["k"], data["i"], data["o"]
            if not (
                isinstance(sort_name, str)
                and isinstance(raw_key, str)
                and isinstance(last_id, str)
                and _PRODUCT_ID.match(last_id)
                and type(offset) is int
                and 0 <= offset <= MAX_OFFSET
                and len(raw_key) <= 64
            ):
                raise ValueError
            key = _parse_key(sort.key, raw_key)
        except (
            ValueError,
            KeyError,
            TypeError,
            binascii.Error,
            InvalidOperation,
            UnicodeDecodeError,
        ):
            raise InvalidInput("cursor", "is not a cursor this API issued") from None
        if sort_name != sort.name:
            raise InvalidInput("cursor", "was issued for another sort order")
        return cls(sort=sort_name, key=key, last_id=last_id, offset=offset)


def _parse_key(key: SortKey, raw: str) -> str | Decimal | datetime:
    if key is SortKey.PRICE:
        try:
            return validate_amount("cursor", Decimal(raw))
        except InvalidInput:
            raise ValueError(raw) from None
    if key is SortKey.CREATED_AT:
        return datetime.fromisoformat(raw)
    return raw


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int
    cursor: Cursor | None

    @classmethod
    def create(
        cls, *, limit: int | None, offset: int | None, cursor: str | None, sort: ProductSort
    ) -> PageRequest:
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
        if offset is not None and cursor is not None:
            raise InvalidInput("cursor", "give either offset or cursor, not both")
        if offset is not None and not 0 <= offset <= MAX_OFFSET:
            raise InvalidInput("offset", f"must be between 0 and {MAX_OFFSET}")
        if cursor is not None:
            decoded = Cursor.decode(cursor, sort)
            return cls(limit=limit, offset=decoded.offset, cursor=decoded)
        return cls(limit=limit, offset=offset or 0, cursor=None)
