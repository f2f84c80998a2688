"""Per-request GraphQL context: the caller and a DataLoader that batches order lookups."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry

from orders.bootstrap import Services
from platform_kit.auth import Principal
from platform_kit.graphql import ServiceContext, batch_loader

__all__ = ["Info", "OrderContext"]


class OrderContext(ServiceContext[Services]):
    def __init__(self, services: Services, principal: Principal | None) -> None:
        super().__init__(services, principal)
        self.order_loader = batch_loader(partial(services.orders.get_many, principal))


Info = strawberry.Info[OrderContext, Any]
