"""What the order use cases need from the outside: order storage and the inventory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from datetime import datetime

from orders.domain.order import Order, OrderLine, OrderStatus, RequestedLine, StatusChange
from platform_kit.paging import PageRequest, Slice

__all__ = ["InventoryPort", "OrderRepository", "SlotTaken"]


class SlotTaken(Exception):
    """Another open order of the same user holds this order's slot."""


class OrderRepository(ABC):
    @abstractmethod
    def next_id(self) -> str:
        """A new order id (24 lowercase hex digits), unique in the store."""

    @abstractmethod
    async def insert(self, order: Order) -> Order | None:
        """Insert; when the user already has a live order with the same idempotency key,
        insert nothing and return that order. Raises SlotTaken when an open order of the
        same user holds `order.slot`. Both are decided atomically by the store."""

    @abstractmethod
    async def slots_in_use(self, user_id: str) -> set[int]:
        """The slots the user's open orders hold now."""

    @abstractmethod
    async def find_by_key(self, user_id: str, key: str) -> Order | None: ...

    @abstractmethod
    async def get(self, order_id: str) -> Order | None: ...

    @abstractmethod
    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]: ...

    @abstractmethod
    async def transition(
        self, order_id: str, change: StatusChange, *, known: Order | None = None
    ) -> Order | None:
        """Compare-and-set: `change` applied (as `change.applied_to` says) only while
        `change.allowed_for` the order; None when not. `known`: the order as the caller
        knows it (every field changes only with the status, which the update checks), so
        the answer needs no read."""

    @abstractmethod
    async def find_page(
        self,
        *,
        user_id: str | None,
        statuses: Collection[OrderStatus],
        page: PageRequest[datetime],
    ) -> Slice[Order]:
        """Newest first; the total exact up to platform_kit.paging.EXACT_COUNT_LIMIT."""

    @abstractmethod
    async def stuck(self, statuses: Collection[OrderStatus], before: datetime) -> list[Order]:
        """Orders left in one of `statuses` since before `before`."""


class InventoryPort(ABC):
    """The inventory subgraph's reservation API; the reservation id is the order id."""

    @abstractmethod
    async def reserve(self, reservation_id: str, lines: list[RequestedLine]) -> list[OrderLine]:
        """All lines or none. InsufficientStock and UnknownProducts mean none: the inventory
        holds nothing under this id."""

    @abstractmethod
    async def release(self, reservation_id: str) -> None: ...

    @abstractmethod
    async def commit(self, reservation_id: str) -> None: ...

    @abstractmethod
    async def ready(self) -> None:
        """Raises when the inventory does not answer."""
