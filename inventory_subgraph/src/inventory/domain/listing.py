"""Listing products: filters, sorts, and the keyset cursor of a sort (platform_kit.paging).

A cursor is bound to its sort: a cursor used with another sort is bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from inventory.domain.product import Product, validate_amount
from platform_kit.errors import InvalidInput
from platform_kit.paging import Cursor, PageRequest

__all__ = [
    "ProductFilter",
    "ProductSort",
    "SortKey",
    "SortValue",
    "cursor_after",
    "page_request",
    "sort_value",
]

MAX_QUERY_LENGTH = 200
SortValue = str | Decimal | datetime


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
        min_price: Any = None,
        max_price: Any = None,
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

    def matches(self, product: Product) -> bool:
        """Whether the listing shows `product`: `q` is text in the name, case-insensitive
        and taken literally."""
        if self.q is not None and self.q.casefold() not in product.name.casefold():
            return False
        if self.category is not None and product.category != self.category:
            return False
        if self.min_price is not None and product.price < self.min_price:
            return False
        if self.max_price is not None and product.price > self.max_price:
            return False
        return self.in_stock is None or (product.stock > 0) is self.in_stock


def page_request(
    sort: ProductSort, *, limit: int | None, offset: int | None, cursor: str | None
) -> PageRequest[SortValue]:
    return PageRequest.create(
        limit=limit,
        offset=offset,
        cursor=cursor,
        parse_key=partial(_parse_key, sort.key),
        sort=sort.name,
    )


def cursor_after(product: Product, sort: ProductSort, offset: int) -> Cursor[SortValue]:
    """The cursor of the page that follows `product` (at `offset`) in `sort` order."""
    return Cursor(
        key=sort_value(product, sort.key), last_id=product.id, offset=offset, sort=sort.name
    )


def sort_value(product: Product, key: SortKey) -> SortValue:
    """What `product` is ordered by (names case-insensitively; ties by id)."""
    if key is SortKey.NAME:
        return product.name.casefold()
    if key is SortKey.PRICE:
        return product.price
    return product.created_at


def _parse_key(key: SortKey, raw: str) -> SortValue:
    if key is SortKey.PRICE:
        try:
            return validate_amount("cursor", Decimal(raw))
        except InvalidInput:
            raise ValueError(raw) from None
    if key is SortKey.CREATED_AT:
        return datetime.fromisoformat(raw)
    return raw
