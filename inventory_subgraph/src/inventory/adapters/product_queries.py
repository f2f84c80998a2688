"""Mongo filters and sorts for product listings, built apart from any I/O.

Client values only ever appear as values under fixed field names, never as operators: text
is regex-escaped, prices become Decimal128, booleans select one of two fixed clauses.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId

from inventory.domain.listing import ProductFilter, ProductSort, SortKey, SortValue
from platform_kit.paging import Cursor

__all__ = ["LIVE", "listing_query", "sort_field", "sort_spec", "sort_value"]

LIVE: dict[str, Any] = {"deleted_at": None}
_SORT_FIELDS = {SortKey.NAME: "name_key", SortKey.PRICE: "price", SortKey.CREATED_AT: "created_at"}


def sort_field(sort: ProductSort) -> str:
    return _SORT_FIELDS[sort.key]


def sort_spec(sort: ProductSort) -> list[tuple[str, int]]:
    direction = -1 if sort.descending else 1
    return [(sort_field(sort), direction), ("_id", direction)]


def sort_value(sort: ProductSort, document: dict[str, Any]) -> SortValue:
    """The cursor key of a stored product."""
    value = document[sort_field(sort)]
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, str | datetime):
        return value
    raise TypeError(f"unexpected sort value {value!r}")


def filter_clauses(product_filter: ProductFilter) -> dict[str, Any]:
    query: dict[str, Any] = dict(LIVE)
    if product_filter.q:
        query["name"] = {"$regex": re.escape(product_filter.q), "$options": "i"}
    if product_filter.category is not None:
        query["category"] = {"$eq": product_filter.category}
    price: dict[str, Decimal128] = {}
    if product_filter.min_price is not None:
        price["$gte"] = Decimal128(product_filter.min_price)
    if product_filter.max_price is not None:
        price["$lte"] = Decimal128(product_filter.max_price)
    if price:
        query["price"] = price
    if product_filter.in_stock is True:
        query["stock"] = {"$gt": 0}
    elif product_filter.in_stock is False:
        query["stock"] = {"$lte": 0}
    return query


def _stored(key: SortValue) -> Any:
    return Decimal128(key) if isinstance(key, Decimal) else key


def listing_query(
    product_filter: ProductFilter, sort: ProductSort, cursor: Cursor[SortValue] | None
) -> dict[str, Any]:
    query = filter_clauses(product_filter)
    if cursor is None:
        return query
    last_id = ObjectId(cursor.last_id)  # the cursor codec accepts only 24-hex ids
    after = "$lt" if sort.descending else "$gt"
    field_name = sort_field(sort)
    key = _stored(cursor.key)
    keyset = {
        "$or": [{field_name: {after: key}}, {field_name: {"$eq": key}, "_id": {after: last_id}}]
    }
    return {"$and": [query, keyset]}
