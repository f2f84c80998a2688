"""Pages and cursors, the same for every listing."""

from __future__ import annotations

import pytest

from platform_kit.count_cache import capped
from platform_kit.errors import InvalidInput
from platform_kit.paging import EXACT_COUNT_LIMIT, Count, Cursor, Page, PageRequest

ID = "0123456789abcdef01234567"


def request(**given: object) -> PageRequest[str]:
    values: dict[str, object] = {"limit": 2, "offset": None, "cursor": None} | given
    return PageRequest.create(parse_key=str, **values)  # type: ignore[arg-type]


def after(item: str, offset: int) -> Cursor[str]:
    return Cursor(key=item, last_id=ID, offset=offset)


def test_a_full_page_with_more_behind_it_points_to_the_next() -> None:
    page = Page.of(["a", "b"], Count(5), request(), after, resume_after="b")
    assert (page.total, page.total_precision, page.limit, page.offset) == (5, "exact", 2, 0)
    assert page.next_cursor is not None
    following = request(cursor=page.next_cursor)
    assert following.offset == 2 and following.cursor == Cursor("b", ID, 2)


def test_a_short_page_that_stopped_its_scan_resumes_after_what_it_read() -> None:
    page = Page.of(["a"], Count(10_000, exact=False), request(), after, resume_after="z")
    assert page.total_precision == "at_least"
    assert page.next_cursor is not None
    assert request(cursor=page.next_cursor).cursor == Cursor("z", ID, 1)


@pytest.mark.parametrize(("items", "total"), [(["a"], 5), (["a", "b"], 2), ([], 0)])
def test_the_last_page_points_nowhere(items: list[str], total: int) -> None:
    assert Page.of(items, Count(total), request(), after, resume_after=None).next_cursor is None


def test_a_cursor_deep_in_a_large_listing_is_taken_back() -> None:
    deep = Cursor(key="k", last_id=ID, offset=5_000_000).encode()
    assert request(cursor=deep).offset == 5_000_000


def test_offsets_beyond_the_result_window_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        request(offset=10_001)
    assert raised.value.field == "offset"


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1_000_001}, "offset"),
        ({"offset": 0, "cursor": "x"}, "cursor"),
    ],
)
def test_bad_page_parameters_are_named(given: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        request(**given)
    assert raised.value.field == field


def test_a_cursor_of_one_sort_is_refused_by_another() -> None:
    token = Cursor("a", ID, 1, sort="NAME").encode()
    with pytest.raises(InvalidInput, match="another sort"):
        PageRequest.create(limit=1, offset=None, cursor=token, parse_key=str, sort="PRICE")
    with pytest.raises(InvalidInput, match="not a cursor"):
        request(cursor=token)  # a listing with one order takes no sorted cursor


def test_a_key_its_listing_would_never_write_is_refused() -> None:
    token = Cursor("yesterday", ID, 1).encode()
    with pytest.raises(InvalidInput, match="not a cursor"):
        PageRequest.create(limit=1, offset=None, cursor=token, parse_key=int)


def test_a_cursor_ending_on_the_longest_name_is_taken_back() -> None:
    # a page sorted by name can end on a product whose name has the maximum 200 characters
    name = "n" * 200
    token = Cursor(name, "0123456789abcdef01234567", 20, sort="name").encode()
    assert Cursor.decode(token, str, sort="name").key == name


def test_a_cursor_key_longer_than_any_sort_value_is_refused() -> None:
    token = Cursor("n" * 1000, "0123456789abcdef01234567", 20, sort="name").encode()
    with pytest.raises(InvalidInput):
        Cursor.decode(token, str, sort="name")


def test_a_stored_count_is_exact_up_to_the_limit_and_never_below_zero() -> None:
    assert capped(-2) == Count(0)
    assert capped(EXACT_COUNT_LIMIT) == Count(EXACT_COUNT_LIMIT)
    assert capped(EXACT_COUNT_LIMIT + 1) == Count(EXACT_COUNT_LIMIT, exact=False)
