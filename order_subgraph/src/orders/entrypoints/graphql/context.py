"""Per-request GraphQL context: the caller and a DataLoader that batches order lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from orders.domain.order import Order
from platform_kit.auth import Principal

if TYPE_CHECKING:
    from orders.bootstrap import OrderService

__all__ = ["OrderContext"]


class OrderContext(BaseContext):
    def __init__(self, service: OrderService, principal: Principal | None) -> None:
        super().__init__()
        self.service = service
        self.principal = principal
        self.order_loader: DataLoader[str, Order | None] = DataLoader(load_fn=self._load)

    async def _load(self, ids: Sequence[str]) -> list[Order | None]:
        found = await self.service.orders.get_many(self.principal, ids)
        return [found.get(order_id) for order_id in ids]
