"""Reservation use cases against in-memory ports: all or nothing, idempotent by id."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inventory.domain.errors import ReservationConflict, ReservationNotFound
from inventory.domain.reservation import ReservationLine, ReservationState
from inventory.service_layer.reservations import Reservations
from platform_kit.errors import InvalidInput
from platform_kit.stock import InsufficientStock, UnknownProducts

from .fakes import FakeProduct, FakeReservationStore, FakeStockBook

A, B = "a" * 24, "b" * 24


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def products() -> dict[str, FakeProduct]:
    return {A: FakeProduct("Mug", Decimal("12.50"), 10), B: FakeProduct("Tea", Decimal("3.00"), 2)}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> FakeReservationStore:
    return FakeReservationStore()


@pytest.fixture
def reservations(
    products: dict[str, FakeProduct], store: FakeReservationStore, clock: Clock
) -> Reservations:
    return Reservations(store, FakeStockBook(products), clock=clock)


async def test_a_reservation_takes_every_line_and_reports_name_and_price(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    record = await reservations.reserve("r1", [ReservationLine(B, 2), ReservationLine(A, 3)])
    assert record.state is ReservationState.RESERVED
    assert [(line.product_id, line.name, line.unit_price) for line in record.reserved] == [
        (A, "Mug", Decimal("12.50")),
        (B, "Tea", Decimal("3.00")),
    ]
    assert products[A].stock == 7 and products[B].stock == 0


async def test_a_short_line_takes_nothing_and_names_every_short_line(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    with pytest.raises(InsufficientStock) as raised:
        await reservations.reserve("r1", [ReservationLine(A, 11), ReservationLine(B, 3)])
    assert [(s.product_id, s.requested, s.available) for s in raised.value.shortages] == [
        (A, 11, 10),
        (B, 3, 2),
    ]
    assert products[A].stock == 10 and products[B].stock == 2


async def test_a_later_short_line_rolls_back_the_lines_already_taken(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    with pytest.raises(InsufficientStock):
        await reservations.reserve("r1", [ReservationLine(A, 4), ReservationLine(B, 5)])
    assert products[A].stock == 10 and not products[A].holds


async def test_an_unknown_product_takes_nothing(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    with pytest.raises(UnknownProducts) as raised:
        await reservations.reserve("r1", [ReservationLine(A, 1), ReservationLine("c" * 24, 1)])
    assert raised.value.product_ids == ["c" * 24]
    assert products[A].stock == 10


async def test_a_repeat_answers_the_same_and_takes_nothing_more(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    first = await reservations.reserve("r1", [ReservationLine(A, 3)])
    again = await reservations.reserve("r1", [ReservationLine(A, 3)])
    assert again == first
    assert products[A].stock == 7


async def test_a_repeat_of_a_failed_reservation_fails_the_same_way(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    with pytest.raises(InsufficientStock):
        await reservations.reserve("r1", [ReservationLine(B, 3)])
    products[B].stock = 100
    with pytest.raises(InsufficientStock):
        await reservations.reserve("r1", [ReservationLine(B, 3)])
    assert products[B].stock == 100


async def test_the_same_id_with_other_lines_is_a_conflict(reservations: Reservations) -> None:
    await reservations.reserve("r1", [ReservationLine(A, 1)])
    with pytest.raises(ReservationConflict):
        await reservations.reserve("r1", [ReservationLine(A, 2)])


async def test_release_gives_the_units_back_exactly_once(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    await reservations.reserve("r1", [ReservationLine(A, 3)])
    for _ in range(3):
        record = await reservations.release("r1")
        assert record.state is ReservationState.RELEASED
    assert products[A].stock == 10


async def test_releasing_an_unknown_id_leaves_a_tombstone_that_blocks_a_late_reserve(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    assert (await reservations.release("late")).state is ReservationState.RELEASED
    with pytest.raises(ReservationConflict):
        await reservations.reserve("late", [ReservationLine(A, 1)])
    assert products[A].stock == 10


async def test_commit_keeps_the_units_sold_and_refuses_a_later_release(
    reservations: Reservations, products: dict[str, FakeProduct]
) -> None:
    await reservations.reserve("r1", [ReservationLine(A, 3)])
    assert (await reservations.commit("r1")).state is ReservationState.COMMITTED
    assert (await reservations.commit("r1")).state is ReservationState.COMMITTED
    with pytest.raises(ReservationConflict):
        await reservations.release("r1")
    assert products[A].stock == 7 and not products[A].holds


async def test_committing_an_unknown_reservation_is_not_found(
    reservations: Reservations,
) -> None:
    with pytest.raises(ReservationNotFound):
        await reservations.commit("nope")


async def test_a_reservation_abandoned_mid_way_is_rolled_back_by_the_sweep(
    reservations: Reservations,
    store: FakeReservationStore,
    products: dict[str, FakeProduct],
    clock: Clock,
) -> None:
    record = await reservations.reserve("r1", [ReservationLine(A, 3)])
    # As if the worker died after taking the line but before recording the outcome:
    store.records["r1"] = dataclasses.replace(
        record,
        state=ReservationState.RESERVING,
        lease_owner="dead",
        lease_until=clock.now + timedelta(seconds=10),
    )
    assert await reservations.sweep() == 0
    clock.now += timedelta(seconds=11)
    assert await reservations.sweep() == 1
    assert products[A].stock == 10
    assert store.records["r1"].state is ReservationState.FAILED


async def test_a_release_interrupted_after_marking_is_finished_by_the_sweep(
    reservations: Reservations,
    store: FakeReservationStore,
    products: dict[str, FakeProduct],
) -> None:
    record = await reservations.reserve("r1", [ReservationLine(A, 3)])
    store.records["r1"] = dataclasses.replace(record, state=ReservationState.RELEASING)
    await reservations.sweep()
    assert products[A].stock == 10
    assert store.records["r1"].state is ReservationState.RELEASED


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 65, "$where", "a.b"])
async def test_reservation_ids_are_restricted(reservations: Reservations, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        await reservations.reserve(bad_id, [ReservationLine(A, 1)])


@pytest.mark.parametrize(
    "lines", [[], [ReservationLine(A, 0)], [ReservationLine(A, 1), ReservationLine(A, 2)]]
)
async def test_lines_must_be_distinct_and_positive(
    reservations: Reservations, lines: list[ReservationLine]
) -> None:
    with pytest.raises(InvalidInput):
        await reservations.reserve("r1", lines)
