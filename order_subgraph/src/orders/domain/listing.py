"""Listing orders: newest first, by status, in offset or keyset-cursor pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from orders.domain.errors import InvalidInput
from platform_kit.cursor import decode_cursor, encode_cursor

__all__ = ["OrderCursor", "OrderPageRequest"]

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_ORDER_ID = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True, slots=True)
class OrderCursor:
    created_at: datetime
    last_id: str
    offset: int

    def encode(self) -> str:
        return encode_cursor(
            {"k": self.created_at.isoformat(), "i": self.last_id, "o": self.offset}
        )

    @classmethod
    def decode(cls, token: str) -> OrderCursor:
        try:
            data = decode_cursor(token)
            created_at = datetime.fromisoformat(data["k"])
            last_id, offset = data["i"], data["o"]
            if not (
                isinstance(last_id, str)
                and _ORDER_ID.match(last_id)
                and isinstance(offset, int)
                and offset >= 0
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("cursor", "is not a cursor this API issued") from None
        return cls(created_at=created_at, last_id=last_id, offset=offset)


@dataclass(frozen=True, slots=True)
class OrderPageRequest:
    limit: int
    offset: int
    cursor: OrderCursor | None

    @classmethod
    def create(
        cls, *, limit: int | None, offset: int | None, cursor: str | None
    ) -> OrderPageRequest:
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
        if offset is not None and cursor is not None:
            raise InvalidInput("cursor", "give either offset or cursor, not both")
        if offset is not None and offset < 0:
            raise InvalidInput("offset", "must not be negative")
        if cursor is not None:
            decoded = OrderCursor.decode(cursor)
            return cls(limit=limit, offset=decoded.offset, cursor=decoded)
        return cls(limit=limit, offset=offset or 0, cursor=None)
