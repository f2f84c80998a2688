"""The composition root: one Mongo client, one HTTP pool to the inventory, the use cases and
their upkeep."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx

from orders.adapters.indexes import ORDERS, ensure_indexes
from orders.adapters.inventory_http import HttpInventory
from orders.adapters.mongo_orders import MongoOrderRepository
from orders.service_layer.orders import FaultHook, Orders
from orders.settings import OrderSettings
from platform_kit.errors import DomainError
from platform_kit.health import ReadinessCheck
from platform_kit.maintenance import Upkeep
from platform_kit.mongo import DATABASE_UNAVAILABLE, ServiceDatabase

__all__ = ["Services", "bootstrap"]

log = logging.getLogger("orders")


@dataclass
class Services:
    settings: OrderSettings
    database: ServiceDatabase
    http: httpx.AsyncClient
    inventory: HttpInventory
    orders: Orders

    @property
    def upkeep(self) -> Upkeep:
        """Indexes first, then the reconciliation that settles what a crash left."""
        return Upkeep(
            name="reconciliation",
            setup=self.start,
            task=self.reconcile,
            interval=self.settings.reconcile_interval_seconds,
            transient=(DomainError, *DATABASE_UNAVAILABLE),
        )

    def readiness(self) -> Mapping[str, ReadinessCheck]:
        return {"database": self.database.ping, "inventory": self.inventory.ready}

    async def start(self) -> None:
        await ensure_indexes(self.database.db)

    async def reconcile(self) -> int:
        return await self.orders.reconcile(timedelta(seconds=self.settings.reconcile_grace_seconds))

    async def close(self) -> None:
        await self.http.aclose()
        await self.database.close()


def crash_at(point: str | None) -> FaultHook:
    def fault(reached: str) -> None:
        if reached == point:
            log.critical("fault hook: crashing on purpose", extra={"point": reached})
            logging.shutdown()
            os._exit(17)

    return fault


def bootstrap(settings: OrderSettings) -> Services:
    database = ServiceDatabase.connect(
        settings.mongodb_uri, default=settings.default_database, app_name="order-subgraph"
    )
    timeout = settings.inventory_timeout_seconds
    http = httpx.AsyncClient(
        base_url=settings.inventory_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
        # every connection a burst opened stays open for the next: no connect per request
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )
    inventory = HttpInventory(http, settings.jwt_secret())
    return Services(
        settings=settings,
        database=database,
        http=http,
        inventory=inventory,
        orders=Orders(
            MongoOrderRepository(database.db[ORDERS]),
            inventory,
            fault=crash_at(settings.fault_crash_at),
            max_open_orders=settings.max_open_orders,
        ),
    )
