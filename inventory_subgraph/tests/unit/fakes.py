"""In-memory stand-ins for the storage ports, for use-case tests without I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from inventory.adapters.ports import ReservationStore, StockBook, TakeOutcome
from inventory.domain.reservation import (
    ReservationChange,
    ReservationLine,
    ReservationRecord,
    ReservationState,
    ReservedLine,
)


@dataclasses.dataclass
class FakeProduct:
    name: str
    price: Decimal
    stock: int
    deleted: bool = False
    holds: set[str] = dataclasses.field(default_factory=set)


class FakeStockBook(StockBook):
    def __init__(self, products: dict[str, FakeProduct]) -> None:
        self.products = products

    async def take(self, reservation_id: str, line: ReservationLine) -> TakeOutcome:
        product = self.products.get(line.product_id)
        if product is None or (product.deleted and reservation_id not in product.holds):
            return TakeOutcome(unknown=True)
        if reservation_id not in product.holds:
            if product.stock < line.quantity:
                return TakeOutcome(available=product.stock)
            product.stock -= line.quantity
            product.holds.add(reservation_id)
        return TakeOutcome(
            taken=ReservedLine(line.product_id, product.name, product.price, "USD", line.quantity)
        )

    async def give_back(self, reservation_id: str, line: ReservationLine) -> bool:
        product = self.products.get(line.product_id)
        if product is None or reservation_id not in product.holds:
            return False
        product.holds.discard(reservation_id)
        product.stock += line.quantity
        return True

    async def forget(self, reservation_id: str, product_id: str) -> None:
        self.products[product_id].holds.discard(reservation_id)

    async def available(self, product_id: str) -> int | None:
        product = self.products.get(product_id)
        return None if product is None or product.deleted else product.stock


class FakeReservationStore(ReservationStore):
    def __init__(self) -> None:
        self.records: dict[str, ReservationRecord] = {}

    async def insert(self, record: ReservationRecord) -> ReservationRecord | None:
        if record.id in self.records:
            return self.records[record.id]
        self.records[record.id] = record
        return None

    async def get(self, reservation_id: str) -> ReservationRecord | None:
        return self.records.get(reservation_id)

    async def transition(
        self,
        reservation_id: str,
        change: ReservationChange,
        *,
        known: ReservationRecord | None = None,
    ) -> ReservationRecord | None:
        record = self.records.get(reservation_id)
        if record is None or not change.allowed_for(record):
            return None
        self.records[reservation_id] = change.applied_to(record)
        return self.records[reservation_id]

    async def take_over(
        self, reservation_id: str, *, now: datetime, new_owner: str, lease_until: datetime
    ) -> ReservationRecord | None:
        record = self.records.get(reservation_id)
        if (
            record is None
            or record.state is not ReservationState.RESERVING
            or record.lease_until is None
            or record.lease_until > now
        ):
            return None
        updated = dataclasses.replace(record, lease_owner=new_owner, lease_until=lease_until)
        self.records[reservation_id] = updated
        return updated

    async def stale(self, now: datetime) -> list[ReservationRecord]:
        return [
            r
            for r in self.records.values()
            if (
                r.state is ReservationState.RESERVING
                and r.lease_until is not None
                and r.lease_until <= now
            )
            or r.state is ReservationState.RELEASING
        ]


def ids(values: Iterable[str]) -> list[str]:
    return list(values)
