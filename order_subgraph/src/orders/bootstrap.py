"""The composition root: one Mongo client, one HTTP pool to the inventory, the use cases and
their upkeep."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from orders.adapters.indexes import LISTING_STATE, ORDERS, ensure_indexes
from orders.adapters.inventory_http import HttpInventory
from orders.adapters.mongo_order_changes import order_change
from orders.adapters.mongo_orders import MongoOrderRepository, key_orders, recount_orders
from orders.domain.order import Order
from orders.service_layer.order_events import OrderEvents
from orders.service_layer.orders import FaultHook, Orders
from orders.settings import OrderSettings
from platform_kit.change_feed import ChangeFeed, FeedLimits
from platform_kit.count_cache import CountCache, ScopeCounts
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
    inventory: HttpInventory
    orders: Orders
    order_changes: ChangeFeed[Order]
    order_events: OrderEvents

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
        await key_orders(self.database.db[ORDERS])
        state = self.database.db[LISTING_STATE]
        await recount_orders(
            self.database.db[ORDERS], ScopeCounts(state, ORDERS), CountCache(state, ORDERS)
        )

    async def reconcile(self) -> int:
        return await self.orders.reconcile(timedelta(seconds=self.settings.reconcile_grace_seconds))

    async def close(self) -> None:
        await self.order_changes.close()
        await self.inventory.close()
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
    inventory = HttpInventory(
        settings.inventory_url,
        settings.jwt_secret(),
        timeout=settings.inventory_timeout_seconds,
    )
    # one reader of the change stream per process, for every subscriber of it
    order_changes = ChangeFeed(
        "orders",
        database.db[ORDERS],
        order_change,
        FeedLimits(
            queue_size=settings.subscription_queue_size,
            max_subscribers=settings.max_feed_subscribers,
        ),
        key=lambda changed: changed.id,  # a subscription may narrow to one id
    )
    return Services(
        settings=settings,
        order_changes=order_changes,
        order_events=OrderEvents(order_changes),
        database=database,
        inventory=inventory,
        orders=Orders(
            MongoOrderRepository(
                database.db[ORDERS], CountCache(database.db[LISTING_STATE], ORDERS)
            ),
            inventory,
            fault=crash_at(settings.fault_crash_at),
            max_open_orders=settings.max_open_orders,
        ),
    )
