"""Use case: the orders a caller may see, as they change (creation, each status change).

Visibility is decided here, where the data lives, for every change: a customer receives
their own orders only, an admin every order, however the subscription is phrased."""

from __future__ import annotations

from collections.abc import AsyncIterator

from orders.domain.order import Order
from orders.service_layer.orders import caller
from platform_kit.auth import Principal
from platform_kit.change_feed import Changes

__all__ = ["OrderEvents"]


class OrderEvents:
    def __init__(self, changes: Changes[Order]) -> None:
        self.changes = changes

    async def watch(
        self, principal: Principal | None, order_id: str | None
    ) -> AsyncIterator[Order]:
        """Every visible change from now on (`order_id`: of that order only)."""
        user = caller(principal)  # refused before anything is subscribed
        async with self.changes.subscribe(order_id) as changes:
            async for order in changes:
                if order_id is not None and order.id != order_id:
                    continue
                if order.visible_to(user.sub, user.is_admin):
                    yield order
