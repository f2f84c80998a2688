"""The bulk import (the use case behind `make seed N=...`) over a real database: into an empty
catalog the listing indexes are built once after the load, into one that has products they
stay; either way every listing, text search and count is right afterwards, and served by an
index."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient

from inventory.adapters import mongo_products
from inventory.adapters.indexes import LISTING_STATE, PRODUCTS, ensure_indexes, indexes_of
from inventory.adapters.mongo_products import MongoProductRepository
from inventory.domain.listing import ProductFilter, ProductSort, sort_value
from inventory.domain.product import NewProduct, Product
from inventory.service_layer.products import Products
from platform_devkit.index_reads import FindRecorder, dense_tiers, winning_plans
from platform_kit.auth import Principal, Role
from platform_kit.count_cache import CountCache, ScopeCounts

ADMIN = Principal(sub="importer", role=Role.ADMIN)
BATCH = 200  # products a write here
COUNT = 2 * BATCH + 100  # three batches
CATEGORIES = ["kettles", "mugs", "teapots"]
WORDS = ["Cast iron", "Glass", "Blue"]
FILTERS = [
    ProductFilter.create(),
    ProductFilter.create(category="mugs"),
    ProductFilter.create(q="0042"),  # a rare piece: read by the pieces of names
    ProductFilter.create(q="n kettle 004"),  # pieces across a space are not stored
    ProductFilter.create(q="s 1"),  # no piece within a word: read along the order
    ProductFilter.create(q="GLASS"),  # a common piece: its holders, in the order of creation
    ProductFilter.create(in_stock=False),  # the keys of the products out of stock
]
LISTING_INDEXES = {
    "grams_created",
    "sample_grams",
    "kg_price",
    "fg_price",
    "kc_name",
    "fc_created",
    "ko_name",
}


@pytest.fixture
async def catalog(
    mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Products, FindRecorder]]:
    monkeypatch.setattr(mongo_products, "IMPORT_BATCH", BATCH)
    recorder = FindRecorder()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[recorder]
    )
    db = client.get_default_database()
    await ensure_indexes(db)
    tiers = dense_tiers()
    repository = MongoProductRepository(
        db[PRODUCTS],
        CountCache(db[LISTING_STATE], PRODUCTS),
        ScopeCounts(db[LISTING_STATE], PRODUCTS),
        lambda: next(tiers),
    )
    yield Products(repository), recorder
    await client.close()


def generated(count: int, midway: Callable[[], None]) -> Iterator[NewProduct]:
    """`count` products, one sku given twice; `midway` is called half-way through the load."""
    for n in range(count):
        if n == count // 2:
            midway()
        yield NewProduct.create(
            name=f"{WORDS[n % 3]} {'kettle' if n % 4 else 'teapot'} {n:04d}",
            price=Decimal(n % 97) + Decimal("0.99"),
            stock=n % 5,
            category=CATEGORIES[n % 4] if n % 4 < 3 else None,
            sku=f"SKU-{min(n, 10)}" if n <= 11 else None,
        )


def indexes_now(mongo_uri: str, found: list[set[str]]) -> Callable[[], None]:
    def look() -> None:
        with MongoClient[dict[str, Any]](mongo_uri) as client:
            found.append(set(client.get_default_database()[PRODUCTS].index_information()))

    return look


async def every_page(
    products: Products, product_filter: ProductFilter, sort: ProductSort
) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor = None
    total = -1
    while True:
        page = await products.list(product_filter, sort, limit=100, offset=None, cursor=cursor)
        total = page.total if cursor is None else total
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen, total


async def assert_listed_right(
    products: Products, live: list[Product], recorder: FindRecorder, mongo_uri: str
) -> None:
    recorder.finds.clear()
    for product_filter, sort in itertools.product(
        FILTERS, [ProductSort.PRICE, ProductSort.NAME_DESC]
    ):
        kept = [p for p in live if product_filter.matches(p)]
        kept.sort(key=lambda p: (sort_value(p, sort.key), p.id), reverse=sort.descending)
        seen, total = await every_page(products, product_filter, sort)
        assert seen == [p.id for p in kept], (product_filter, sort)
        assert total == len(kept), (product_filter, sort)
    async with AsyncMongoClient[dict[str, Any]](mongo_uri) as client:
        plans = await winning_plans(client.get_default_database(), recorder.finds)
    for shape, plan in plans.items():
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (shape, plan)


async def all_live(products: Products) -> list[Product]:
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    ids = [str(doc["_id"]) async for doc in repository.products.find({}, {"_id": 1})]
    return list((await repository.get_many(ids)).values())


async def test_into_an_empty_catalog_the_listing_indexes_are_built_after_the_load(
    catalog: tuple[Products, FindRecorder], mongo_uri: str
) -> None:
    products, recorder = catalog
    during: list[set[str]] = []
    added = await products.import_many(ADMIN, generated(COUNT, indexes_now(mongo_uri, during)))
    assert added == COUNT - 1  # the second SKU-10 is refused
    # half-way, only the unique index (it refuses duplicates as they come) was there
    assert "sku_unique" in during[0] and not LISTING_INDEXES & during[0]
    after = set(await all_indexes(mongo_uri))
    assert after == {"_id_", *(model.document["name"] for model in indexes_of(PRODUCTS))}
    live = await all_live(products)
    assert len(live) == added
    await assert_listed_right(products, live, recorder, mongo_uri)


async def test_into_a_catalog_with_products_the_indexes_stay_through_the_load(
    catalog: tuple[Products, FindRecorder], mongo_uri: str
) -> None:
    products, recorder = catalog
    first = await products.import_many(ADMIN, [NewProduct.create(name="Oak tray", price="3.00")])
    assert first == 1
    during: list[set[str]] = []
    added = await products.import_many(ADMIN, generated(COUNT, indexes_now(mongo_uri, during)))
    assert added == COUNT - 1
    assert during[0] >= LISTING_INDEXES
    live = await all_live(products)
    assert len(live) == COUNT
    await assert_listed_right(products, live, recorder, mongo_uri)


async def all_indexes(mongo_uri: str) -> list[str]:
    async with AsyncMongoClient[dict[str, Any]](mongo_uri) as client:
        return list(await client.get_default_database()[PRODUCTS].index_information())
