"""In-memory stand-ins for the order repository and the inventory."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal

from orders.adapters.ports import InventoryPort, OrderRepository, SlotTaken
from orders.domain.errors import InventoryUnavailable
from orders.domain.order import Order, OrderLine, OrderStatus, RequestedLine, StatusChange
from platform_kit.paging import Count, PageRequest, Slice
from platform_kit.stock import InsufficientStock, Shortage


class FakeOrders(OrderRepository):
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.ids = itertools.count(1)
        self.inserts = 0
        self.slot_reads = 0

    def next_id(self) -> str:
        return f"{next(self.ids):024x}"

    async def insert(self, order: Order) -> Order | None:
        self.inserts += 1
        if order.idempotency_key is not None:
            existing = await self.find_by_key(order.user_id, order.idempotency_key)
            if existing is not None:
                return existing
        if order.slot is not None and any(
            o.user_id == order.user_id and o.slot == order.slot for o in self.orders.values()
        ):
            raise SlotTaken()
        self.orders[order.id] = order
        return None

    async def slots_in_use(self, user_id: str) -> set[int]:
        self.slot_reads += 1
        return {o.slot for o in self.orders.values() if o.user_id == user_id and o.slot is not None}

    async def find_by_key(self, user_id: str, key: str) -> Order | None:
        return next(
            (o for o in self.orders.values() if o.user_id == user_id and o.idempotency_key == key),
            None,
        )

    async def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        return {i: self.orders[i] for i in order_ids if i in self.orders}

    async def transition(
        self, order_id: str, change: StatusChange, *, known: Order | None = None
    ) -> Order | None:
        order = self.orders.get(order_id)
        if order is None or not change.allowed_for(order):
            return None
        self.orders[order_id] = change.applied_to(order)
        return self.orders[order_id]

    async def find_page(
        self,
        *,
        user_id: str | None,
        statuses: Collection[OrderStatus],
        page: PageRequest[datetime],
    ) -> Slice[Order]:
        found = sorted(
            (
                o
                for o in self.orders.values()
                if o.status in statuses and (user_id is None or o.user_id == user_id)
            ),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        items = found[page.offset : page.offset + page.limit]
        more = len(found) > page.offset + page.limit
        return Slice(items, Count(len(found)), items[-1] if more else None)

    async def stuck(self, statuses: Collection[OrderStatus], before: datetime) -> list[Order]:
        return [o for o in self.orders.values() if o.status in statuses and o.updated_at < before]


class FakeInventory(InventoryPort):
    def __init__(self, stock: dict[str, int], prices: dict[str, str] | None = None) -> None:
        self.stock = stock
        self.prices = prices or {}
        self.held: dict[str, list[RequestedLine]] = {}
        self.released: list[str] = []
        self.down = False

    async def reserve(self, reservation_id: str, lines: list[RequestedLine]) -> list[OrderLine]:
        if self.down:
            raise InventoryUnavailable(maybe_reserved=False)
        if reservation_id not in self.held:
            short = [
                Shortage(line.product_id, line.quantity, self.stock[line.product_id])
                for line in lines
                if self.stock[line.product_id] < line.quantity
            ]
            if short:
                raise InsufficientStock(short)
            for line in lines:
                self.stock[line.product_id] -= line.quantity
            self.held[reservation_id] = lines
        return [
            OrderLine(
                line.product_id,
                f"name-{line.product_id}",
                Decimal(self.prices.get(line.product_id, "1.00")),
                line.quantity,
                "USD",
            )
            for line in lines
        ]

    async def release(self, reservation_id: str) -> None:
        if self.down:
            raise InventoryUnavailable()
        self.released.append(reservation_id)
        for line in self.held.pop(reservation_id, []):
            self.stock[line.product_id] += line.quantity
        self.held.setdefault(reservation_id, [])

    async def commit(self, reservation_id: str) -> None:
        if self.down:
            raise InventoryUnavailable()

    async def ready(self) -> None:
        if self.down:
            raise InventoryUnavailable()
