"""Pages, sorts and the opaque cursor, pure."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from inventory.domain.listing import ProductFilter, ProductSort, page_request
from platform_kit.errors import InvalidInput
from platform_kit.paging import Cursor

ID = "0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (ProductSort.NAME, "mug"),
        (ProductSort.PRICE_DESC, Decimal("12.50")),
        (ProductSort.CREATED_AT_DESC, datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)),
    ],
)
def test_a_cursor_round_trips_exactly(sort: ProductSort, key: object) -> None:
    cursor = Cursor(key=key, last_id=ID, offset=40, sort=sort.name)
    assert _decoded(cursor.encode(), sort) == cursor


def _decoded(token: str, sort: ProductSort) -> Cursor[object] | None:
    return page_request(sort, limit=20, offset=None, cursor=token).cursor


@pytest.mark.parametrize("token", ["", "not-base64!", "e30", "eyJzIjoxfQ"])
def test_a_forged_cursor_is_bad_input(token: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        _decoded(token, ProductSort.NAME)
    assert raised.value.field == "cursor"


def _forged(**fields: object) -> str:
    raw = json.dumps({"s": "PRICE", "k": "1.00", "i": ID, "o": 0} | fields).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"o": 99_999_999_999},  # an offset no database skips
        {"o": True},
        {"k": "1E+999999"},
        {"k": "9" * 38},
        {"k": "NaN"},
        {"k": "-1"},
        {"k": "0.001"},
        {"k": "1" * 100},
    ],
)
def test_a_forged_price_cursor_is_bad_input(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as raised:
        _decoded(_forged(**fields), ProductSort.PRICE)
    assert raised.value.field == "cursor"


def test_a_cursor_of_another_sort_is_bad_input() -> None:
    token = Cursor(key="a", last_id=ID, offset=1, sort="NAME").encode()
    with pytest.raises(InvalidInput):
        _decoded(token, ProductSort.PRICE)


def test_a_cursor_page_reports_the_offset_it_carries() -> None:
    token = Cursor(key="a", last_id=ID, offset=60, sort="NAME").encode()
    page = page_request(ProductSort.NAME, limit=20, offset=None, cursor=token)
    assert page.offset == 60 and page.cursor is not None


@pytest.mark.parametrize(
    ("limit", "offset", "cursor", "field"),
    [
        (0, None, None, "limit"),
        (101, None, None, "limit"),
        (10, -1, None, "offset"),
        (10, 1_000_001, None, "offset"),
        (10, 0, "x", "cursor"),
    ],
)
def test_bad_page_parameters_are_named(
    limit: int, offset: int | None, cursor: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        page_request(ProductSort.NAME, limit=limit, offset=offset, cursor=cursor)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "bound",
    [Decimal("-1"), Decimal("1e999999999"), Decimal("1" * 41), Decimal("NaN"), Decimal("0.001")],
)
def test_a_price_bound_is_a_bounded_amount(bound: Decimal) -> None:
    with pytest.raises(InvalidInput) as raised:
        ProductFilter.create(min_price=bound)
    assert raised.value.field == "min_price"


def test_a_price_range_must_be_ordered() -> None:
    with pytest.raises(InvalidInput):
        ProductFilter.create(min_price=Decimal("5"), max_price=Decimal("1"))
