"""How product listings read the products collection, built apart from any I/O.

Each live product stores, for each sort, its key (platform_kit.ordered_keys) twice: in the
catalog's order (`kg_<sort>`) and within its category (`kc_<sort>`: the category leads), and
sampled products their fences (`fg_<sort>`, `fc_<sort>`). A deleted product loses them all,
so it leaves every listing index at once. A live product out of stock carries its catalog keys
once more (`ko_<sort>`, sparse), set and removed by the very write that takes its stock to 0
or from it: products out of stock are a listing of their own, bounded by the catalog's own
fences (the same keys), not one product in five of the catalog's read and dropped.
`grams`, the distinct three-character pieces of the words of the lower-cased name, find the
products whose name holds a text; products of fence tier 2 and up carry them again
(`sample_grams`), a 1-in-1024 sample that tells how common a piece is before anything is
read.

A listing reads one ordered field over one key range (`plan_listing`): the category's when
a category is asked, narrowed by the price bounds when sorted by price. What the range does
not select (text, stock, prices under another sort) is left to the domain's filter.

Client values only ever become key text compared as values, never operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from inventory.domain.listing import ProductFilter, ProductSort, SortKey, SortValue
from platform_kit.keyset_walk import KeyRange, OrderedField
from platform_kit.ordered_keys import (
    FENCE_SPACING_BITS,
    SEP,
    decimal_part,
    fence_value,
    join,
    scope_end,
    scope_start,
    text_part,
    time_part,
)

__all__ = [
    "LISTING_FIELDS",
    "LIVE",
    "OUT_OF_STOCK",
    "OUT_OF_STOCK_FIELDS",
    "SAMPLE_SPACING",
    "TEXT_ORDER",
    "ListingPlan",
    "in_category",
    "listing_fields",
    "listing_terms",
    "name_grams",
    "ordered_field",
    "plan_listing",
    "product_scopes",
    "sort_key",
]

LIVE: dict[str, Any] = {"deleted_at": None}
GRAM_LENGTH = 3
SAMPLE_TIER = 2  # products of this fence tier and up carry their grams again
SAMPLE_SPACING = 1 << (FENCE_SPACING_BITS * SAMPLE_TIER)  # 1 product in 1,024 is sampled
OUT_OF_STOCK = "stock:0:"  # the counted scopes of products out of stock

_SUFFIX = {SortKey.NAME: "name", SortKey.PRICE: "price", SortKey.CREATED_AT: "created"}


def ordered_field(
    sort_key: SortKey, *, in_category: bool, out_of_stock: bool = False
) -> OrderedField:
    """The key and fence fields of a sort: in the catalog's order, within a category, or
    among the catalog's products out of stock (their keys are their catalog keys, so the
    catalog's fences bound their ranges too: no fences of their own to keep)."""
    suffix = _SUFFIX[sort_key]
    if out_of_stock:
        return OrderedField(f"ko_{suffix}", f"fg_{suffix}")
    return (
        OrderedField(f"kc_{suffix}", f"fc_{suffix}")
        if in_category
        else OrderedField(f"kg_{suffix}", f"fg_{suffix}")
    )


OUT_OF_STOCK_FIELDS: tuple[str, ...] = tuple(
    ordered_field(key, in_category=False, out_of_stock=True).key for key in SortKey
)
# the order in which the holders of a piece of text are indexed (index `grams_created`)
TEXT_ORDER = ordered_field(SortKey.CREATED_AT, in_category=False)
LISTING_FIELDS: tuple[str, ...] = (
    *OUT_OF_STOCK_FIELDS,
    *(
        name
        for key in SortKey
        for in_category in (False, True)
        for name in (
            ordered_field(key, in_category=in_category).key,
            ordered_field(key, in_category=in_category).fence,
        )
    ),
    "grams",
    "sample_grams",
)


def _part(sort_key: SortKey, value: SortValue) -> str:
    if sort_key is SortKey.PRICE:
        assert isinstance(value, Decimal)
        return decimal_part(value)
    if sort_key is SortKey.CREATED_AT:
        assert isinstance(value, datetime)
        return time_part(value)
    assert isinstance(value, str)
    return text_part(value)


def sort_key(sort_key: SortKey, value: SortValue, product_id: str) -> str:
    """A product's key in the catalog's order of `sort_key`."""
    return join(_part(sort_key, value), product_id)


def in_category(category: str, key: str) -> str:
    return join(text_part(category), key)


def product_scopes(category: str | None, *, out_of_stock: bool) -> list[str]:
    """The scopes whose counts a live product is in: the catalog and its category, and the
    same two among products out of stock when its stock is 0."""
    scopes = ["", f"category:{category}"] if category is not None else [""]
    if out_of_stock:
        scopes += [OUT_OF_STOCK + scope for scope in scopes]
    return scopes


def listing_terms(product_filter: ProductFilter) -> dict[str, int] | None:
    """The stored counts whose sum is a listing's total (its scope's count, less the
    products out of stock for `in_stock=true`), when its filter is a scope and a stock
    state; None when it also filters by text or price."""
    if product_filter != ProductFilter(
        category=product_filter.category, in_stock=product_filter.in_stock
    ):
        return None
    scope = product_scopes(product_filter.category, out_of_stock=False)[-1]
    if product_filter.in_stock is None:
        return {scope: 1}
    if product_filter.in_stock:
        return {scope: 1, OUT_OF_STOCK + scope: -1}
    return {OUT_OF_STOCK + scope: 1}


def name_grams(text: str) -> list[str]:
    """The pieces within words only: those across a space are nearly half of a name's, each
    an index entry to write (the bulk import's largest cost), and a text that holds a word of
    three characters has pieces of its own; one that holds none is read along the order."""
    return sorted(
        {
            word[i : i + GRAM_LENGTH]
            for word in text.casefold().split()
            for i in range(len(word) - GRAM_LENGTH + 1)
        }
    )


def listing_fields(
    *,
    product_id: str,
    name: str,
    price: Decimal,
    created_at: datetime,
    category: str | None,
    tier: int,
    out_of_stock: bool,
) -> tuple[dict[str, Any], list[str]]:
    """The fields to set on a live product, and those to remove (a category it no longer
    has, fences it does not carry, out-of-stock keys of a product in stock)."""
    values: dict[str, SortValue] = {
        SortKey.NAME.value: name.casefold(),
        SortKey.PRICE.value: price,
        SortKey.CREATED_AT.value: created_at,
    }
    stored: dict[str, Any] = {}
    unset: list[str] = []
    for key in SortKey:
        catalog_key = sort_key(key, values[key.value], product_id)
        scoped = {False: catalog_key}
        if category is not None:
            scoped[True] = in_category(category, catalog_key)
        for scope in (False, True):
            field = ordered_field(key, in_category=scope)
            if scope not in scoped:
                unset += [field.key, field.fence]
                continue
            stored[field.key] = scoped[scope]
            if tier:
                stored[field.fence] = fence_value(tier, scoped[scope])
            else:
                unset.append(field.fence)
        out = ordered_field(key, in_category=False, out_of_stock=True).key
        if out_of_stock:
            stored[out] = catalog_key
        else:
            unset.append(out)
    stored["grams"] = name_grams(name)
    if tier >= SAMPLE_TIER:
        stored["sample_grams"] = stored["grams"]
    else:
        unset.append("sample_grams")
    return stored, unset


@dataclass(frozen=True, slots=True)
class ListingPlan:
    """The ordered field and key range a listing reads; `served` when every product of the
    range passes the filter (nothing is left for the domain to drop)."""

    field: OrderedField
    keys: KeyRange
    served: bool

    def key_after(
        self, sort: ProductSort, value: SortValue, product_id: str, scope: str | None
    ) -> str:
        key = sort_key(sort.key, value, product_id)
        return in_category(scope, key) if scope is not None else key


def plan_listing(product_filter: ProductFilter, sort: ProductSort) -> ListingPlan:
    category = product_filter.category
    # the catalog's products out of stock have keys of their own; within a category, they
    # are read along the category's keys (a category is a small range already)
    out_of_stock = product_filter.in_stock is False and category is None
    field = ordered_field(sort.key, in_category=category is not None, out_of_stock=out_of_stock)
    prefix = "" if category is None else scope_start(category)
    low = prefix or None
    high = scope_end(category) if category is not None else None
    served = product_filter.q is None and (product_filter.in_stock is None or out_of_stock)
    has_price_bounds = product_filter.min_price is not None or product_filter.max_price is not None
    if has_price_bounds and sort.key is SortKey.PRICE:
        if product_filter.min_price is not None:
            # every key of that price is that price's part, SEP and an id: greater than the part
            low = prefix + decimal_part(product_filter.min_price)
        if product_filter.max_price is not None:
            high = prefix + decimal_part(product_filter.max_price) + SEP[0] + "\x01"
    elif has_price_bounds:
        served = False
    return ListingPlan(field, KeyRange(low, high), served)
