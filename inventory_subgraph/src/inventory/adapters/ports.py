"""What the use cases need from storage. Mongo implements these (adapters/mongo_*.py); the unit
tests use in-memory fakes (tests/unit/fakes.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from inventory.domain.listing import ProductFilter, ProductSort, SortValue
from inventory.domain.product import NewProduct, Product, ProductChanges
from inventory.domain.reservation import (
    ReservationChange,
    ReservationLine,
    ReservationRecord,
    ReservedLine,
)
from platform_kit.paging import PageRequest, Slice

__all__ = ["ProductRepository", "ReservationStore", "StockBook", "TakeOutcome"]


class ProductRepository(ABC):
    @abstractmethod
    async def add(self, product: NewProduct, now: datetime) -> Product:
        """Raises DuplicateSku."""

    @abstractmethod
    async def add_many(self, products: Iterable[NewProduct], now: datetime) -> int:
        """Adds them in batches: how many were added (one whose sku is taken is not)."""

    @abstractmethod
    async def get(self, product_id: str) -> Product | None: ...

    @abstractmethod
    async def get_many(
        self, product_ids: Iterable[str], *, deleted_too: bool = False
    ) -> dict[str, Product]:
        """Live products by id (and deleted ones, as they were, with `deleted_too`), in
        one round trip."""

    @abstractmethod
    async def update(
        self, product_id: str, changes: ProductChanges, now: datetime
    ) -> Product | None:
        """Raises DuplicateSku, and ProductChanged when `changes.expected_version` is given
        and the product is at another; None when there is no live product with that id."""

    @abstractmethod
    async def adjust_stock(self, product_id: str, delta: int, now: datetime) -> Product | None:
        """Adds `delta` to the stock in one atomic step. Raises InvalidInput when the stock
        would leave 0 to MAX_STOCK; None when there is no live product with that id."""

    @abstractmethod
    async def delete(self, product_id: str, now: datetime) -> bool: ...

    @abstractmethod
    async def list(
        self, product_filter: ProductFilter, sort: ProductSort, page: PageRequest[SortValue]
    ) -> Slice[Product]:
        """One page in total, stable order, the number of matching products (exact up to
        platform_kit.paging.EXACT_COUNT_LIMIT) and where the next page starts."""


@dataclass(frozen=True, slots=True)
class TakeOutcome:
    """What applying one line did: `taken` (now or by an earlier attempt) with the product's
    snapshot, or why not."""

    taken: ReservedLine | None = None
    available: int | None = None  # set when short
    unknown: bool = False


class StockBook(ABC):
    """Per-product stock moves, each one atomic and idempotent per reservation id."""

    @abstractmethod
    async def take(self, reservation_id: str, line: ReservationLine) -> TakeOutcome: ...

    @abstractmethod
    async def give_back(self, reservation_id: str, line: ReservationLine) -> bool:
        """Returns the units if (and only if) this reservation still holds them."""

    @abstractmethod
    async def forget(self, reservation_id: str, product_id: str) -> None:
        """Drop the hold marker after a commit; the units stay sold."""

    @abstractmethod
    async def available(self, product_id: str) -> int | None: ...


class ReservationStore(ABC):
    @abstractmethod
    async def insert(self, record: ReservationRecord) -> ReservationRecord | None:
        """Insert a new record; when the id exists, return the existing one instead."""

    @abstractmethod
    async def get(self, reservation_id: str) -> ReservationRecord | None: ...

    @abstractmethod
    async def transition(
        self,
        reservation_id: str,
        change: ReservationChange,
        *,
        known: ReservationRecord | None = None,
    ) -> ReservationRecord | None:
        """Compare-and-set: `change` applied (as `change.applied_to` says) only while
        `change.allowed_for` the record; None when not. `known`: the record as the caller
        knows it still is (its own lease guards it), so the answer needs no read."""

    @abstractmethod
    async def take_over(
        self, reservation_id: str, *, now: datetime, new_owner: str, lease_until: datetime
    ) -> ReservationRecord | None:
        """Take the lease of a `reserving` record whose lease expired before `now`."""

    @abstractmethod
    async def stale(self, now: datetime) -> list[ReservationRecord]:
        """Records left mid-way (reserving with an expired lease, or releasing)."""
