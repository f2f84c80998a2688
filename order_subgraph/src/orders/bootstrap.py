"""The composition root: one Mongo client, one HTTP pool to the inventory, the use cases and
their upkeep."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from orders.adapters.indexes import ORDERS, ensure_indexes
from orders.adapters.inventory_http import HttpInventory
from orders.adapters.mongo_orders import MongoOrderRepository
from orders.service_layer.orders import FaultHook, Orders
from orders.settings import OrderSettings
from platform_kit.errors import DomainError
from platform_kit.health import ReadinessCheck
from platform_kit.maintenance import Upkeep
from platform_kit.mongo import DATABASE_UNAVAILABLE, create_mongo_client, database_name, ping

__all__ = ["Services", "bootstrap"]

log = logging.getLogger("orders")


@dataclass
class Services:
    settings: OrderSettings
    client: AsyncMongoClient[dict[str, Any]]
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
        return {"database": lambda: ping(self.client), "inventory": self.inventory.ready}

    async def start(self) -> None:
        await ensure_indexes(
            self.client[database_name(self.settings.mongodb_uri, self.settings.default_database)]
        )

    async def reconcile(self) -> int:
        return await self.orders.reconcile(timedelta(seconds=self.settings.reconcile_grace_seconds))

    async def close(self) -> None:
        await self.http.aclose()
        await self.client.close()


def crash_at(point: str | None) -> FaultHook:
    def fault(reached: str) -> None:
        if reached == point:
            log.critical("fault hook: crashing on purpose", extra={"point": reached})
            logging.shutdown()
            os._exit(17)

    return fault


def bootstrap(settings: OrderSettings) -> Services:
    client = create_mongo_client(settings.mongodb_uri, app_name="order-subgraph")
    db = client[database_name(settings.mongodb_uri, settings.default_database)]
    timeout = settings.inventory_timeout_seconds
    http = httpx.AsyncClient(
        base_url=settings.inventory_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )
    inventory = HttpInventory(http, settings.jwt_secret())
    return Services(
        settings=settings,
        client=client,
        http=http,
        inventory=inventory,
        orders=Orders(
            MongoOrderRepository(db[ORDERS]),
            inventory,
            fault=crash_at(settings.fault_crash_at),
            max_open_orders=settings.max_open_orders,
        ),
    )
