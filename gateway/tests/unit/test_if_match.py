"""If-Match read as RFC 9110 says: a list of entity-tags, `*`, strong comparison with the
ETags we send (a version as a quoted decimal)."""

from __future__ import annotations

import pytest

from gateway.rest.preconditions import MAX_VERSION, versions_matched_by


def test_no_field_and_a_star_match_any_version() -> None:
    assert versions_matched_by(None) is None
    assert versions_matched_by(" * ") is None


def test_every_tag_of_a_list_counts() -> None:
    assert versions_matched_by('"1", "999"') == {1, 999}
    assert versions_matched_by('"3",W/"4" ,  "5"') == {3, 5}


@pytest.mark.parametrize(
    "field",
    ['W/"1"', '"00"', '"01"', '"+1"', '"1_0"', '"\u0661"', '" 1"', '""', '"-1"', '"x"'],
)
def test_a_tag_we_never_send_matches_no_version(field: str) -> None:
    assert versions_matched_by(field) == frozenset()


def test_a_huge_tag_is_compared_by_its_text_not_converted() -> None:
    assert versions_matched_by('"' + "9" * 4301 + '"') == frozenset()
    assert versions_matched_by(f'"{MAX_VERSION + 1}"') == frozenset()
    assert versions_matched_by(f'"{MAX_VERSION}"') == {MAX_VERSION}


@pytest.mark.parametrize("field", ["", "1", '"1" "2"', '"1",,x', '*, "1"'])
def test_a_field_that_is_no_list_of_tags_matches_no_version(field: str) -> None:
    assert versions_matched_by(field) == frozenset()
