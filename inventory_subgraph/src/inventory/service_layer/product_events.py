"""Use case: products as they change (price, stock, name, deletion), visible to anyone."""

from __future__ import annotations

from collections.abc import AsyncIterator

from inventory.domain.product import Product
from platform_kit.auth import Principal
from platform_kit.change_feed import Changes

__all__ = ["ProductEvents"]


class ProductEvents:
    def __init__(self, changes: Changes[Product]) -> None:
        self.changes = changes

    async def watch(
        self, principal: Principal | None, product_id: str | None
    ) -> AsyncIterator[Product]:
        """Every change from now on (`product_id`: of that product only). The catalog is
        public: the caller decides nothing here."""
        async with self.changes.subscribe(product_id) as changes:
            async for product in changes:
                if product_id is None or product.id == product_id:
                    yield product
