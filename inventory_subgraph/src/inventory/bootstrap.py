"""The composition root: one Mongo client, the repositories, the use cases and their upkeep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from inventory.adapters.indexes import LISTING_STATE, PRODUCTS, RESERVATIONS, ensure_indexes
from inventory.adapters.mongo_product_changes import product_change
from inventory.adapters.mongo_product_listing import CATALOG
from inventory.adapters.mongo_products import (
    MongoProductRepository,
    MongoStockBook,
    list_unlisted_products,
    recount_products,
)
from inventory.adapters.mongo_reservations import MongoReservationStore
from inventory.domain.product import Product
from inventory.service_layer.product_events import ProductEvents
from inventory.service_layer.products import Products
from inventory.service_layer.reservations import Reservations
from inventory.settings import InventorySettings
from platform_kit.change_feed import ChangeFeed, FeedLimits
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.health import ReadinessCheck
from platform_kit.maintenance import Upkeep
from platform_kit.mongo import DATABASE_UNAVAILABLE, ServiceDatabase
from platform_kit.move_log import MoveLog

__all__ = ["Services", "bootstrap"]


@dataclass
class Services:
    settings: InventorySettings
    database: ServiceDatabase
    counts: CountCache
    scopes: ScopeCounts
    products: Products
    reservations: Reservations
    product_changes: ChangeFeed[Product]
    product_events: ProductEvents

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
        return {"database": self.database.ping}

    async def start(self) -> None:
        await ensure_indexes(self.database.db)
        moves = MoveLog(self.counts.state, self.counts.listing, CATALOG)
        await list_unlisted_products(self.database.db[PRODUCTS], moves)
        await recount_products(self.database.db[PRODUCTS], self.scopes, self.counts)

    async def close(self) -> None:
        await self.product_changes.close()
        await self.database.close()


def bootstrap(settings: InventorySettings) -> Services:
    database = ServiceDatabase.connect(
        settings.mongodb_uri, default=settings.default_database, app_name="inventory-subgraph"
    )
    products = database.db[PRODUCTS]
    counts = CountCache(database.db[LISTING_STATE], PRODUCTS)
    scopes = ScopeCounts(database.db[LISTING_STATE], PRODUCTS)
    # one reader of the change stream per process, for every subscriber of it
    product_changes = ChangeFeed(
        "products",
        products,
        product_change,
        FeedLimits(
            queue_size=settings.subscription_queue_size,
            max_subscribers=settings.max_feed_subscribers,
        ),
        key=lambda changed: changed.id,  # a subscription may narrow to one id
    )
    return Services(
        settings=settings,
        product_changes=product_changes,
        product_events=ProductEvents(product_changes),
        database=database,
        counts=counts,
        scopes=scopes,
        products=Products(MongoProductRepository(products, counts, scopes)),
        reservations=Reservations(
            MongoReservationStore(database.db[RESERVATIONS]),
            MongoStockBook(products, counts),
            lease=timedelta(seconds=settings.reservation_lease_seconds),
        ),
    )
