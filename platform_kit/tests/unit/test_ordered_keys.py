"""Keys compare as the tuples they are made of, whatever the text holds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from platform_kit.ordered_keys import (
    decimal_part,
    draw_tier,
    join,
    scope_end,
    scope_start,
    text_part,
    time_part,
)

ALPHABET = ["", "\x00", "\x01", "a", "b", "A", "é", "\U0001f600", " ", "~"]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4)))


def test_text_keys_order_as_their_tuples() -> None:
    rng = random.Random(7)
    pairs = [(random_text(rng), f"{rng.randrange(16**24):024x}") for _ in range(3000)]
    by_key = sorted(pairs, key=lambda pair: join(text_part(pair[0]), pair[1]))
    assert by_key == sorted(pairs)


def test_a_text_that_is_a_prefix_of_another_comes_first_whatever_follows() -> None:
    assert join(text_part("ab"), "ff" * 12) < join(text_part("ab\x00"), "00" * 12)
    assert join(text_part("ab"), "ff" * 12) < join(text_part("abc"), "00" * 12)


@pytest.mark.parametrize("scope", ["cat", "", "c\x00", "c\x00\x00d"])
def test_every_key_of_a_scope_lies_inside_its_bounds_and_no_other(scope: str) -> None:
    rng = random.Random(3)
    for _ in range(500):
        other = random_text(rng)
        key = join(text_part(other), text_part(random_text(rng)), "0" * 24)
        inside = scope_start(other) < key < scope_end(other)
        assert inside
        in_scope = scope_start(scope) < key < scope_end(scope)
        assert in_scope == (other == scope)


def test_amounts_order_as_numbers() -> None:
    amounts = [Decimal("0.01"), Decimal("0.10"), Decimal("1"), Decimal("9.99"), Decimal("10.00")]
    assert sorted(amounts, key=decimal_part) == amounts
    assert decimal_part(Decimal("1000000000")) > decimal_part(Decimal("999999999.99"))


def test_times_order_to_the_millisecond_in_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    assert time_part(moment) == "2026-01-02T03:04:05.678"
    assert time_part(moment.replace(tzinfo=None)) == time_part(moment)
    later = [moment + timedelta(milliseconds=n) for n in (0, 1, 999, 1000, 86_400_000)]
    assert sorted(later, key=time_part) == later


def test_one_document_in_32_is_a_fence_and_one_in_1024_of_tier_two() -> None:
    tiers = [draw_tier(bits) for bits in range(1 << 15)]
    assert tiers.count(0) == 31 * 1024
    assert tiers.count(1) == 31 * 32
    assert tiers.count(2) == 31
    assert tiers.count(3) == 1
