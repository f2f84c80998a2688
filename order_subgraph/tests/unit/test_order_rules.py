"""The order's own rules, pure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.domain.errors import TransitionNotAllowed
from orders.domain.listing import cursor_after, page_request
from orders.domain.order import (
    Order,
    OrderLine,
    OrderStatus,
    RequestedLine,
    StatusChange,
    fingerprint,
    merge_lines,
    validate_idempotency_key,
)
from platform_kit.errors import InvalidInput

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def order(status: OrderStatus = OrderStatus.PENDING, items: tuple[OrderLine, ...] = ()) -> Order:
    return Order(
        id="o1",
        user_id="u1",
        status=status,
        requested=(),
        fingerprint="f",
        created_at=NOW,
        updated_at=NOW,
        items=items,
    )


def test_repeated_lines_of_one_product_are_merged_in_product_order() -> None:
    merged = merge_lines([RequestedLine("b", 1), RequestedLine("a", 2), RequestedLine("b", 3)])
    assert merged == [RequestedLine("a", 2), RequestedLine("b", 4)]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [RequestedLine("a", 0)],
        [RequestedLine("a", -1)],
        [RequestedLine("$ne", 1)],
        [RequestedLine("a", True)],
    ],
)
def test_bad_lines_are_refused(lines: list[RequestedLine]) -> None:
    with pytest.raises(InvalidInput):
        merge_lines(lines)


def test_the_fingerprint_ignores_how_lines_were_split() -> None:
    one = merge_lines([RequestedLine("a", 2), RequestedLine("b", 1)])
    two = merge_lines([RequestedLine("b", 1), RequestedLine("a", 1), RequestedLine("a", 1)])
    assert fingerprint(one) == fingerprint(two)
    assert fingerprint(one) != fingerprint(merge_lines([RequestedLine("a", 3)]))


def test_totals_are_exact() -> None:
    lines = (
        OrderLine("a", "A", Decimal("0.10"), 3, "USD"),
        OrderLine("b", "B", Decimal("19.99"), 2, "USD"),
    )
    assert order(items=lines).total == Decimal("40.28")
    assert str(order(items=lines).total) == "40.28"


def test_an_order_has_one_currency() -> None:
    with pytest.raises(InvalidInput):
        order(OrderStatus.RESERVING).priced(
            [
                OrderLine("a", "A", Decimal("1"), 1, "USD"),
                OrderLine("b", "B", Decimal("1"), 1, "EUR"),
            ]
        )


@pytest.mark.parametrize(
    ("status", "target", "allowed"),
    [
        (OrderStatus.PENDING, OrderStatus.COMPLETED, True),
        (OrderStatus.PENDING, OrderStatus.CANCELLED, True),
        (OrderStatus.CANCELLING, OrderStatus.CANCELLED, True),
        (OrderStatus.COMPLETED, OrderStatus.CANCELLED, False),
        (OrderStatus.CANCELLED, OrderStatus.COMPLETED, False),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED, False),
        (OrderStatus.PENDING, OrderStatus.PENDING, False),
    ],
)
def test_the_status_machine(status: OrderStatus, target: OrderStatus, allowed: bool) -> None:
    if allowed:
        order(status).check_transition(target)
    else:
        with pytest.raises(TransitionNotAllowed):
            order(status).check_transition(target)


def test_internal_states_are_hidden_or_shown_as_pending() -> None:
    assert not OrderStatus.RESERVING.visible and not OrderStatus.FAILED.visible
    assert OrderStatus.CANCELLING.public is OrderStatus.PENDING


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_idempotency_keys_are_visible_ascii(key: str) -> None:
    with pytest.raises(InvalidInput):
        validate_idempotency_key(key)


def test_an_order_cursor_round_trips_and_rejects_forgeries() -> None:
    cursor = cursor_after(dataclasses.replace(order(), id="0123456789abcdef01234567"), 40)
    assert page_request(limit=10, offset=None, cursor=cursor.encode()).cursor == cursor
    with pytest.raises(InvalidInput):
        page_request(limit=10, offset=None, cursor="bm9wZQ")


def test_a_failed_attempt_frees_its_idempotency_key_and_its_slot() -> None:
    attempt = dataclasses.replace(order(OrderStatus.RESERVING), idempotency_key="k", slot=3)
    failed = StatusChange({OrderStatus.RESERVING}, OrderStatus.FAILED, NOW).applied_to(attempt)
    assert (failed.status, failed.idempotency_key, failed.slot) == (OrderStatus.FAILED, None, None)


def test_a_reserved_order_keeps_its_key_and_slot_and_takes_its_priced_lines() -> None:
    attempt = dataclasses.replace(order(OrderStatus.RESERVING), idempotency_key="k", slot=3)
    line = OrderLine("p1", "Mug", Decimal("2.50"), 2, "USD")
    pending = StatusChange({OrderStatus.RESERVING}, OrderStatus.PENDING, NOW, (line,)).applied_to(
        attempt
    )
    assert (pending.idempotency_key, pending.slot, pending.total) == ("k", 3, Decimal("5.00"))


def test_an_order_that_is_no_longer_open_frees_its_slot_but_not_its_key() -> None:
    pending = dataclasses.replace(order(), idempotency_key="k", slot=3)
    done = StatusChange({OrderStatus.PENDING}, OrderStatus.COMPLETED, NOW).applied_to(pending)
    assert (done.idempotency_key, done.slot) == ("k", None)
