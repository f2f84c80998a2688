"""Per-request GraphQL context: the caller and a DataLoader that batches entity lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from inventory.domain.product import Product
from platform_kit.auth import Principal

if TYPE_CHECKING:
    from inventory.bootstrap import Inventory

__all__ = ["InventoryContext"]


class InventoryContext(BaseContext):
    def __init__(self, inventory: Inventory, principal: Principal | None) -> None:
        super().__init__()
        self.inventory = inventory
        self.principal = principal
        self.product_loader: DataLoader[str, Product | None] = DataLoader(
            load_fn=self._load_products
        )
        # entity references (an order line's product) resolve deleted products too, as
        # they were when deleted: what was ordered still has a name and a price
        self.reference_loader: DataLoader[str, Product | None] = DataLoader(
            load_fn=self._load_references
        )

    async def _load_products(self, ids: Sequence[str]) -> list[Product | None]:
        found = await self.inventory.products.get_many(ids)
        return [found.get(product_id) for product_id in ids]

    async def _load_references(self, ids: Sequence[str]) -> list[Product | None]:
        found = await self.inventory.products.get_many(ids, deleted_too=True)
        return [found.get(product_id) for product_id in ids]
