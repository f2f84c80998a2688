"""Per-request GraphQL context: the caller and DataLoaders that batch product lookups."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry

from inventory.bootstrap import Services
from platform_kit.auth import Principal
from platform_kit.graphql import ServiceContext, batch_loader

__all__ = ["Info", "InventoryContext"]


class InventoryContext(ServiceContext[Services]):
    def __init__(self, services: Services, principal: Principal | None) -> None:
        super().__init__(services, principal)
        products = services.products
        self.product_loader = batch_loader(products.get_many)
        # entity references (an order line's product) resolve deleted products too, as
        # they were when deleted: what was ordered still has a name and a price
        self.reference_loader = batch_loader(partial(products.get_many, deleted_too=True))


Info = strawberry.Info[InventoryContext, Any]
