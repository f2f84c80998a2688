"""The stock adapters against the real database: the in-stock listings follow every write
that moves `stock` (their totals are counted again when a product reaches 0 or leaves it),
and a take records exactly what it took."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from inventory.adapters.indexes import LISTING_STATE, ensure_indexes
from inventory.adapters.mongo_products import (
    MAX_TAKE_ATTEMPTS,
    MongoProductRepository,
    MongoStockBook,
    recount_products,
)
from inventory.domain.errors import ReservationConflict
from inventory.domain.listing import ProductFilter, ProductSort, page_request
from inventory.domain.product import NewProduct, ProductChanges
from inventory.domain.reservation import ReservationLine
from platform_kit.count_cache import CountCache, ScopeCounts

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Products = AsyncCollection[dict[str, Any]]


@pytest.fixture
async def products(mongo_uri: str) -> AsyncIterator[Products]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        await ensure_indexes(client.get_default_database())
        yield client.get_default_database()["products"]
    finally:
        await client.close()


def counts(products: Products) -> CountCache:
    return CountCache(products.database[LISTING_STATE], "products")


def repository_of(products: Products) -> MongoProductRepository:
    state = products.database[LISTING_STATE]
    return MongoProductRepository(products, counts(products), ScopeCounts(state, "products"))


async def _stored(products: Products, product_id: str) -> tuple[int, bool]:
    """The stock, and whether the in-stock listing shows the product (its total, counted)."""
    doc = await products.find_one({"_id": ObjectId(product_id)})
    assert doc is not None
    listed = await repository_of(products).list(
        ProductFilter.create(in_stock=True),
        ProductSort.NAME,
        page_request(ProductSort.NAME, limit=10, offset=None, cursor=None),
    )
    return doc["stock"], listed.total.value == 1


async def test_the_in_stock_listing_follows_every_stock_move(products: Products) -> None:
    repository, book = repository_of(products), MongoStockBook(products, counts(products))
    product = await repository.add(NewProduct.create(name="Lamp", price=Decimal("5"), stock=0), NOW)
    assert await _stored(products, product.id) == (0, False)

    await repository.adjust_stock(product.id, 2, NOW)
    assert await _stored(products, product.id) == (2, True)
    line = ReservationLine(product.id, 1)
    assert (await book.take("r1", line)).taken is not None
    assert await _stored(products, product.id) == (1, True)
    assert (await book.take("r2", line)).taken is not None
    assert await _stored(products, product.id) == (0, False)
    assert await book.give_back("r1", line)
    assert await _stored(products, product.id) == (1, True)
    await repository.adjust_stock(product.id, -1, NOW)
    assert await _stored(products, product.id) == (0, False)
    await repository.update(product.id, ProductChanges.create({"stock": 7}), NOW)
    assert await _stored(products, product.id) == (7, True)
    updated = await repository.update(product.id, ProductChanges.create({"stock": 0}), NOW)
    assert updated is not None and updated.stock == 0
    assert await _stored(products, product.id) == (0, False)


class EditedBeforeTheTake:
    """The products collection, where an admin changes the price between the take's read
    and its update, `times` times."""

    def __init__(self, products: Products, product_id: str, times: int = 1) -> None:
        self.products = products
        self.product_id = ObjectId(product_id)
        self.edits_left = times

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        return await self.products.find_one(*args, **kwargs)

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        if self.edits_left > 0:
            self.edits_left -= 1
            price = Decimal128("7.50" if self.edits_left % 2 == 0 else "8.50")
            await self.products.update_one({"_id": self.product_id}, {"$set": {"price": price}})
        return await self.products.update_one(*args, **kwargs)


async def test_a_take_racing_a_price_edit_records_the_price_it_took_at(
    products: Products,
) -> None:
    repository = repository_of(products)
    product = await repository.add(NewProduct.create(name="Fan", price=Decimal("5"), stock=3), NOW)
    edited = EditedBeforeTheTake(products, product.id)
    book = MongoStockBook(edited, counts(products))  # type: ignore[arg-type]
    outcome = await book.take("r1", ReservationLine(product.id, 1))
    assert outcome.taken is not None and outcome.taken.unit_price == Decimal("7.50")
    assert await _stored(products, product.id) == (2, True)


async def test_a_take_gives_up_on_a_product_edited_before_every_try(products: Products) -> None:
    repository = repository_of(products)
    product = await repository.add(NewProduct.create(name="Saw", price=Decimal("5"), stock=3), NOW)
    # a try is two conditional writes (some stock stays, or the last units go)
    edited = EditedBeforeTheTake(products, product.id, times=2 * MAX_TAKE_ATTEMPTS)
    book = MongoStockBook(edited, counts(products))  # type: ignore[arg-type]
    with pytest.raises(ReservationConflict):
        await book.take("r1", ReservationLine(product.id, 1))
    assert await _stored(products, product.id) == (3, True)


async def test_the_counts_of_products_out_of_stock_follow_every_write_and_a_recount(
    products: Products,
) -> None:
    """The totals of `in_stock` listings (alone and with a category) are stored counts: each
    write that takes a product to 0 or from it moves them, and a recount mends them."""
    repository, book = repository_of(products), MongoStockBook(products, counts(products))
    made = {
        name: await repository.add(
            NewProduct.create(name=name, price=Decimal("5"), stock=stock, category=category),
            NOW,
        )
        for name, stock, category in [("a", 0, "mugs"), ("b", 2, "mugs"), ("c", 1, None)]
    }

    async def totals() -> dict[tuple[str | None, bool], int]:
        found = {}
        for category, in_stock in itertools.product([None, "mugs"], [False, True]):
            page = await repository.list(
                ProductFilter.create(category=category, in_stock=in_stock),
                ProductSort.PRICE,
                page_request(ProductSort.PRICE, limit=1, offset=None, cursor=None),
            )
            assert page.total.exact
            found[category, in_stock] = page.total.value
        return found

    async def stored() -> dict[tuple[str | None, bool], int]:
        live = await products.find({"deleted_at": None}).to_list()
        return {
            (category, in_stock): sum(
                (doc["stock"] > 0) is in_stock and category in (None, doc.get("category"))
                for doc in live
            )
            for category, in_stock in itertools.product([None, "mugs"], [False, True])
        }

    assert (
        await totals()
        == await stored()
        == {
            (None, False): 1,
            (None, True): 2,
            ("mugs", False): 1,
            ("mugs", True): 1,
        }
    )
    b = ReservationLine(made["b"].id, 2)
    assert (await book.take("r1", b)).taken is not None  # the last units
    assert await totals() == await stored()
    assert (await totals())["mugs", False] == 2
    assert await book.give_back("r1", b)
    assert await book.give_back("r1", b) is False  # once
    assert await totals() == await stored()
    await repository.adjust_stock(made["c"].id, -1, NOW)
    assert await totals() == await stored()
    # out of stock, moved to another category: it leaves one count for the other
    await repository.update(made["c"].id, ProductChanges.create({"category": "mugs"}), NOW)
    assert (
        await totals()
        == await stored()
        == {
            (None, False): 2,
            (None, True): 1,
            ("mugs", False): 2,
            ("mugs", True): 1,
        }
    )
    await repository.update(made["a"].id, ProductChanges.create({"stock": 4}), NOW)
    assert await totals() == await stored()
    assert await repository.delete(made["c"].id, NOW)  # deleted while out of stock
    assert (await book.take("r2", ReservationLine(made["a"].id, 4))).taken is not None
    assert await repository.delete(made["a"].id, NOW)
    assert await book.give_back("r2", ReservationLine(made["a"].id, 4))  # to a deleted one
    assert (
        await totals()
        == await stored()
        == {
            (None, False): 0,
            (None, True): 1,
            ("mugs", False): 0,
            ("mugs", True): 1,
        }
    )
    # a crash between a write and its count leaves a count off; the recount mends it
    await repository.scopes.moved({"stock:0:category:mugs": 3})
    assert await totals() != await stored()
    assert await recount_products(products, repository.scopes, repository.counts)
    assert await totals() == await stored()


async def test_racing_takes_of_the_last_units_count_the_product_out_of_stock_once(
    products: Products,
) -> None:
    repository, book = repository_of(products), MongoStockBook(products, counts(products))
    product = await repository.add(
        NewProduct.create(name="Last", price=Decimal("5"), stock=10, category="mugs"), NOW
    )
    outcomes = await asyncio.gather(
        *(book.take(f"r{n}", ReservationLine(product.id, 1)) for n in range(30))
    )
    assert sum(outcome.taken is not None for outcome in outcomes) == 10
    values = await repository.scopes.values(["stock:0:", "stock:0:category:mugs"])
    assert values == {"stock:0:": 1, "stock:0:category:mugs": 1}
