"""The composition root: one Mongo client, the repositories, the use cases and their upkeep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from inventory.adapters.indexes import PRODUCTS, RESERVATIONS, ensure_indexes
from inventory.adapters.mongo_products import MongoProductRepository, MongoStockBook
from inventory.adapters.mongo_reservations import MongoReservationStore
from inventory.service_layer.products import Products
from inventory.service_layer.reservations import Reservations
from inventory.settings import InventorySettings
from platform_kit.health import ReadinessCheck
from platform_kit.maintenance import Upkeep
from platform_kit.mongo import DATABASE_UNAVAILABLE, create_mongo_client, database_name, ping

__all__ = ["Services", "bootstrap"]


@dataclass
class Services:
    settings: InventorySettings
    client: AsyncMongoClient[dict[str, Any]]
    products: Products
    reservations: Reservations

    @property
    def upkeep(self) -> Upkeep:
        """Indexes first, then the sweep that finishes what crashed workers left."""
        return Upkeep(
            name="reservation sweep",
            setup=self.start,
            task=self.reservations.sweep,
            interval=self.settings.sweep_interval_seconds,
            transient=DATABASE_UNAVAILABLE,
        )

    def readiness(self) -> Mapping[str, ReadinessCheck]:
        return {"database": lambda: ping(self.client)}

    async def start(self) -> None:
        db = self.client[database_name(self.settings.mongodb_uri, self.settings.default_database)]
        await ensure_indexes(db)

    async def close(self) -> None:
        await self.client.close()


def bootstrap(settings: InventorySettings) -> Services:
    client = create_mongo_client(settings.mongodb_uri, app_name="inventory-subgraph")
    db = client[database_name(settings.mongodb_uri, settings.default_database)]
    products = db[PRODUCTS]
    return Services(
        settings=settings,
        client=client,
        products=Products(MongoProductRepository(products)),
        reservations=Reservations(
            MongoReservationStore(db[RESERVATIONS]),
            MongoStockBook(products),
            lease=timedelta(seconds=settings.reservation_lease_seconds),
        ),
    )
