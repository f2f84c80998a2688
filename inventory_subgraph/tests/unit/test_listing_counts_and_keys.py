"""Which stored counts make a listing's total, and the pages of a price range's ordered
keys (adapters/product_queries.py, adapters/candidate_keys.py), pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.adapters.candidate_keys import key_page, product_id_of
from inventory.adapters.product_queries import listing_terms, product_scopes, sort_key
from inventory.domain.listing import ProductFilter, SortKey


def test_a_product_out_of_stock_is_counted_in_the_stock_scopes_of_its_category_too() -> None:
    assert product_scopes("mugs", out_of_stock=False) == ["", "category:mugs"]
    assert product_scopes("mugs", out_of_stock=True) == [
        "",
        "category:mugs",
        "stock:0:",
        "stock:0:category:mugs",
    ]
    assert product_scopes(None, out_of_stock=True) == ["", "stock:0:"]


@pytest.mark.parametrize(
    ("product_filter", "terms"),
    [
        (ProductFilter(), {"": 1}),
        (ProductFilter(category="mugs"), {"category:mugs": 1}),
        (ProductFilter(in_stock=False), {"stock:0:": 1}),
        (ProductFilter(in_stock=True), {"": 1, "stock:0:": -1}),
        (
            ProductFilter(category="mugs", in_stock=True),
            {"category:mugs": 1, "stock:0:category:mugs": -1},
        ),
        (ProductFilter(category="mugs", in_stock=False), {"stock:0:category:mugs": 1}),
        (ProductFilter(q="kettle"), None),
        (ProductFilter(in_stock=True, min_price=Decimal("1")), None),
        (ProductFilter(category="mugs", max_price=Decimal("1")), None),
    ],
)
def test_a_listing_of_a_scope_and_a_stock_state_is_a_sum_of_stored_counts(
    product_filter: ProductFilter, terms: dict[str, int] | None
) -> None:
    assert listing_terms(product_filter) == terms


IDS = [f"{n:024x}" for n in range(10)]
# two products share a name: their keys are ordered by id
KEYS = sorted(
    sort_key(SortKey.NAME, f"mug {n // 2}", product_id) for n, product_id in enumerate(IDS)
)


def test_a_key_ends_with_its_product_id_whatever_the_value_holds() -> None:
    assert [product_id_of(key) for key in KEYS] == IDS
    assert product_id_of(sort_key(SortKey.NAME, "a\x00\x00b\x00", IDS[3])) == IDS[3]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 3, 4, 10, 11])
def test_key_pages_by_offset_and_by_cursor_are_the_slices_of_the_whole_order(
    descending: bool, limit: int
) -> None:
    whole = list(reversed(KEYS)) if descending else KEYS
    for offset in range(len(KEYS) + 2):
        page = key_page(KEYS, after=None, descending=descending, offset=offset, limit=limit)
        assert page.keys == whole[offset : offset + limit], offset
        assert page.more == (offset + limit < len(KEYS))
    # following the cursors: every key once, in order
    seen: list[str] = []
    after = None
    while True:
        page = key_page(KEYS, after=after, descending=descending, offset=0, limit=limit)
        seen += page.keys
        if not page.more:
            break
        after = page.keys[-1]
    assert seen == whole
