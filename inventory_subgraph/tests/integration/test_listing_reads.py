"""Product listings over a real database, through the repository: every page of every sort and
filter is what the domain's rules give, and every query a listing sends is an index range
the database answers in index order (explain: no collection scan, no sort in memory).

Fences are sampled densely here (a fence every 4 products, tiers up to 3 within a few hundred
products) so that every tier of the walk is crossed."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from inventory.adapters.indexes import LISTING_STATE, PRODUCTS, ensure_indexes
from inventory.adapters.mongo_product_listing import CATALOG
from inventory.adapters.mongo_products import (
    MongoProductRepository,
    MongoStockBook,
    key_moves,
    recount_products,
    to_product,
)
from inventory.domain.listing import ProductFilter, ProductSort, sort_value
from inventory.domain.product import NewProduct, Product, ProductChanges
from inventory.domain.reservation import ReservationLine
from inventory.service_layer.products import Products
from platform_devkit.index_reads import FindRecorder, dense_tiers, winning_plans
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.offset_index import OffsetIndex
from platform_kit.paging import Page

COUNT = 160
CATEGORIES = ["kettles", "mugs", "teapots"]
WORDS = ["Cast iron", "Glass", "Blue", "Steel", "Stone"]


@pytest.fixture
async def catalog(mongo_uri: str) -> AsyncIterator[tuple[Products, list[Product], FindRecorder]]:
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
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    products = []
    for n in range(COUNT):
        made = await repository.add(
            NewProduct.create(
                name=f"{rng.choice(WORDS)} {'teapot' if n % 3 else 'kettle'} {n:04d}",
                price=Decimal(rng.choice(["4.50", "9.99", "12.00", "12.00", "30.00"])),
                stock=rng.choice([0, 3, 10]),
                category=rng.choice([*CATEGORIES, None]),
            ),
            # ties on purpose: several products share each millisecond
            start + timedelta(milliseconds=n // 3),
        )
        products.append(made)
    # a deleted product leaves every listing; a renamed one is listed by its new name
    await repository.delete(products[5].id, start + timedelta(days=1))
    renamed = await repository.update(
        products[6].id, ProductChanges.create({"name": "Zinc kettle 9999"}), start
    )
    assert renamed is not None
    # as stored (times to the millisecond, as the database keeps them)
    live = list((await repository.get_many(p.id for p in products)).values())
    assert len(live) == COUNT - 1 and renamed.name in {p.name for p in live}
    recorder.finds.clear()
    yield Products(repository), live, recorder
    await client.close()


FILTERS = [
    ProductFilter.create(),
    ProductFilter.create(category="mugs"),
    ProductFilter.create(min_price=Decimal("9.99"), max_price=Decimal("12.00")),
    ProductFilter.create(min_price=Decimal("12.00")),
    ProductFilter.create(in_stock=False),
    ProductFilter.create(category="teapots", in_stock=True, max_price=Decimal("12.00")),
    ProductFilter.create(q="ke"),  # shorter than a piece: read along the order
    ProductFilter.create(q="KETTLE"),  # a common piece: read along the order
    ProductFilter.create(q="0042"),  # a rare piece: read by the pieces of names
    ProductFilter.create(q="nothing like it"),
    # out of stock with a price bound: counted along the out-of-stock keys of price
    ProductFilter.create(in_stock=False, max_price=Decimal("12.00")),
]


def expected(
    products: list[Product], product_filter: ProductFilter, sort: ProductSort
) -> list[str]:
    kept = [p for p in products if product_filter.matches(p)]
    kept.sort(key=lambda p: (sort_value(p, sort.key), p.id), reverse=sort.descending)
    return [p.id for p in kept]


async def every_page(
    products: Products, product_filter: ProductFilter, sort: ProductSort, limit: int
) -> tuple[list[str], list[Page[Product]]]:
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        page = await products.list(product_filter, sort, limit=limit, offset=None, cursor=cursor)
        pages.append(page)
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", list(ProductSort))
async def test_following_the_cursors_lists_every_matching_product_once_in_order(
    catalog: tuple[Products, list[Product], FindRecorder], sort: ProductSort
) -> None:
    products, live, _ = catalog
    for product_filter in FILTERS:
        seen, pages = await every_page(products, product_filter, sort, limit=12)
        assert seen == expected(live, product_filter, sort), product_filter
        assert pages[0].total == len(seen) and pages[0].total_precision == "exact"


async def test_an_offset_page_is_the_slice_of_the_whole_order(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    for product_filter, sort in [
        (FILTERS[0], ProductSort.PRICE),
        (FILTERS[1], ProductSort.NAME_DESC),
        (FILTERS[8], ProductSort.CREATED_AT),
    ]:
        whole = expected(live, product_filter, sort)
        for offset in (0, 3, 100, len(whole) - 1, len(whole) + 5):
            page = await products.list(product_filter, sort, limit=9, offset=offset, cursor=None)
            assert [item.id for item in page.items] == whole[offset : offset + 9]
            assert page.total == len(whole)


async def test_a_filter_the_index_does_not_serve_reads_a_bounded_number_of_products(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    repository.listing.scan_limit = 10  # a page may read only 10 products
    # products out of stock within a category: read along the category's keys
    sold_out = ProductFilter.create(category="mugs", in_stock=False)
    seen, pages = await every_page(products, sold_out, ProductSort.NAME, limit=5)
    assert seen == expected(live, sold_out, ProductSort.NAME)
    assert any(len(page.items) < 5 and page.next_cursor for page in pages)


async def test_a_listing_of_the_products_out_of_stock_reads_only_products_out_of_stock(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    """Its own index range, in each sort, at every offset: not the catalog's keys filtered
    (one product in five on a generated catalog), and it follows stock moved either way."""
    products, live, _ = catalog
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    read: list[Product] = []
    load = repository.listing.load

    def recorded(document: dict[str, Any]) -> Product:
        read.append(load(document))
        return read[-1]

    repository.listing.load = recorded
    sold_out = ProductFilter.create(in_stock=False)
    for sort in ProductSort:
        seen, _ = await every_page(products, sold_out, sort, limit=7)
        assert seen == expected(live, sold_out, sort)
        for offset in (0, 5, 23):
            page = await products.list(sold_out, sort, limit=4, offset=offset, cursor=None)
            assert [p.id for p in page.items] == expected(live, sold_out, sort)[offset:][:4]
    assert read and all(product.stock == 0 for product in read)
    # a stock that reaches 0 (adjusted, or taken by an order) enters the listing; one given
    # back or restocked leaves it; an edit of a product out of stock moves its keys there
    stocked = [p for p in live if p.stock > 0]
    emptied = await repository.adjust_stock(stocked[0].id, -stocked[0].stock, stocked[0].created_at)
    books = MongoStockBook(repository.products, repository.counts)
    line = ReservationLine(product_id=stocked[1].id, quantity=stocked[1].stock)
    outcome = await books.take("r1", line)
    assert outcome.taken is not None
    sold = [p for p in live if p.stock == 0]
    restocked = await repository.adjust_stock(sold[0].id, 2, sold[0].created_at)
    edit = ProductChanges.create({"name": "Aaa first", "price": "0.10"})
    renamed = await repository.update(sold[1].id, edit, sold[1].created_at)
    assert emptied and restocked and renamed
    now = list((await repository.get_many(p.id for p in live)).values())
    for sort in ProductSort:
        seen, _ = await every_page(products, sold_out, sort, limit=7)
        assert seen == expected(now, sold_out, sort)
        page = await products.list(sold_out, sort, limit=4, offset=6, cursor=None)
        assert [p.id for p in page.items] == expected(now, sold_out, sort)[6:10]
    assert await books.give_back("r1", line)
    now = list((await repository.get_many(p.id for p in live)).values())
    seen, _ = await every_page(products, sold_out, ProductSort.NAME, limit=7)
    assert seen == expected(now, sold_out, ProductSort.NAME)
    assert stocked[1].id not in seen and stocked[0].id in seen
    assert all(product.stock == 0 for product in read)


async def test_every_query_of_every_listing_is_an_index_range_read_in_index_order(
    catalog: tuple[Products, list[Product], FindRecorder], mongo_uri: str
) -> None:
    products, _, recorder = catalog
    for product_filter, sort in itertools.product(FILTERS, ProductSort):
        await every_page(products, product_filter, sort, limit=40)
    # offset pages: the anchors' key-only reads (by small and by large windows), and pages
    # after them
    for large_windows in (False, True):
        dense_anchors(products, large_windows=large_windows)
        for product_filter, sort in itertools.product(FILTERS[:6], ProductSort):
            for offset in (13, 97):
                await products.list(product_filter, sort, limit=10, offset=offset, cursor=None)
    async with AsyncMongoClient[dict[str, Any]](mongo_uri) as client:
        plans = await winning_plans(client.get_default_database(), recorder.finds)
    assert len(plans) > 20
    for shape, plan in plans.items():
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (shape, plan)
        assert "'SORT'" not in plan, (shape, plan)


async def test_whole_scopes_are_counted_beside_the_products_and_a_recount_mends_them(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    scopes = repository.scopes

    async def totals() -> dict[str, int]:
        found = {}
        for category in [*CATEGORIES, None]:
            page = await products.list(
                ProductFilter.create(category=category),
                ProductSort.NAME,
                limit=1,
                offset=None,
                cursor=None,
            )
            found[str(category)] = page.total
        return found

    expected = {str(c): sum(p.category == c for p in live) for c in CATEGORIES}
    assert await totals() == {**expected, "None": len(live)}
    moved = next(p for p in live if p.category == "mugs")
    await repository.update(
        moved.id, ProductChanges.create({"category": "kettles"}), moved.created_at
    )
    expected["mugs"] -= 1
    expected["kettles"] += 1
    assert await totals() == {**expected, "None": len(live)}
    # a crash between a write and its count leaves the count off; the recount mends it
    await scopes.moved({"category:mugs": 40, "": -3})
    assert await totals() != {**expected, "None": len(live)}
    assert await recount_products(repository.products, scopes, repository.counts)
    assert await totals() == {**expected, "None": len(live)}


def dense_anchors(products: Products, *, large_windows: bool = False) -> MongoProductRepository:
    """Anchors every 4 products (so that a few hundred cross many), read by the large windows
    deep offsets use when `large_windows`."""
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    repository.listing.offsets = OffsetIndex(
        repository.counts,
        (CATALOG,),
        log=repository.moves,
        spacing=4,
        small_windows_up_to=0 if large_windows else 512,
    )
    return repository


async def assert_offset_pages_are_slices(
    products: Products,
    live: list[Product],
    listings: list[tuple[ProductFilter, ProductSort]],
    step: int,
) -> None:
    for product_filter, sort in listings:
        whole = expected(live, product_filter, sort)
        for offset in range(0, len(whole) + 6, step):
            page = await products.list(product_filter, sort, limit=7, offset=offset, cursor=None)
            assert [item.id for item in page.items] == whole[offset : offset + 7], (
                product_filter,
                sort,
                offset,
            )


@pytest.mark.parametrize("large_windows", [False, True])
async def test_every_offset_of_every_sort_is_the_slice_of_the_whole_order(
    catalog: tuple[Products, list[Product], FindRecorder], large_windows: bool
) -> None:
    products, live, _ = catalog
    dense_anchors(products, large_windows=large_windows)
    listings = [
        (product_filter, sort)
        for product_filter in [
            FILTERS[0],
            FILTERS[1],
            FILTERS[3],  # a price bound: a narrower range when sorted by price
        ]
        for sort in ProductSort
    ]
    await assert_offset_pages_are_slices(products, live, listings, step=3)


async def test_an_offset_page_reads_as_little_at_any_depth_once_its_anchors_are_known(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, recorder = catalog
    dense_anchors(products)
    deepest = len(live) - 10
    await products.list(ProductFilter(), ProductSort.PRICE, limit=10, offset=deepest, cursor=None)
    reads = {}
    for offset in (0, 10, 40, 90, deepest):
        recorder.finds.clear()
        await products.list(
            ProductFilter(), ProductSort.PRICE, limit=10, offset=offset, cursor=None
        )
        reads[offset] = len(recorder.finds)
    # skipping through the listing would read a window of ~4 products per 4 skipped
    assert max(reads.values()) <= min(reads.values()) + 3, reads
    assert reads[deepest] < deepest // 4, reads


async def test_offset_pages_follow_inserts_deletes_and_moves_made_while_they_are_read(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    repository = dense_anchors(products)
    listings = [
        (FILTERS[0], ProductSort.PRICE),
        (FILTERS[0], ProductSort.CREATED_AT_DESC),
        (FILTERS[1], ProductSort.NAME_DESC),
        (FILTERS[3], ProductSort.PRICE_DESC),
    ]
    await assert_offset_pages_are_slices(products, live, listings, step=9)  # anchors known
    rng = random.Random(7)
    ids = [p.id for p in live]
    later = max(p.created_at for p in live)
    writing = True

    async def write() -> None:
        nonlocal writing
        for n in range(36):
            victim = rng.choice(ids)
            if n % 3 == 0:
                made = await repository.add(
                    NewProduct.create(
                        name=f"{rng.choice(WORDS)} late {n:04d}",
                        price=Decimal(rng.choice(["1.00", "9.99", "12.00", "40.00"])),
                        stock=3,
                        category=rng.choice([*CATEGORIES, None]),
                    ),
                    later + timedelta(milliseconds=n),
                )
                ids.append(made.id)
            elif n % 3 == 1:
                await repository.delete(victim, later)
            else:  # its keys move in the price, name and category listings
                changes = {"price": rng.choice(["2.00", "12.00", "50.00"]), "name": f"Moved {n}"}
                await repository.update(victim, ProductChanges.create(changes), later)
        writing = False

    async def read() -> None:
        while writing:
            for product_filter, sort in listings:
                offset = rng.randrange(0, 150)
                page = await products.list(
                    product_filter, sort, limit=7, offset=offset, cursor=None
                )
                shown = [item.id for item in page.items]
                assert len(set(shown)) == len(shown) <= 7

    await asyncio.gather(write(), read())
    now_live = list((await repository.get_many(ids)).values())
    # the anchors moved on: requests that come together read them once, and all get slices
    whole = expected(now_live, FILTERS[0], ProductSort.PRICE)
    offsets = [150, 3, 97, 150, 41, 120]
    pages = await asyncio.gather(
        *(
            products.list(FILTERS[0], ProductSort.PRICE, limit=7, offset=offset, cursor=None)
            for offset in offsets
        )
    )
    for offset, page in zip(offsets, pages, strict=True):
        assert [item.id for item in page.items] == whole[offset : offset + 7], offset
    await assert_offset_pages_are_slices(products, now_live, listings, step=5)


async def test_a_filtered_total_is_counted_a_bounded_step_a_request_until_it_is_exact(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    repository = products.repository
    assert isinstance(repository, MongoProductRepository)
    # a request counts on over at most 20 products
    repository.listing.count_step = repository.listing.first_count_step = 20
    # products in stock among a price range: no stored count is that listing's, and no index
    # range holds only them
    sold_out = ProductFilter.create(in_stock=True, min_price=Decimal("9.99"))
    wanted = sum(sold_out.matches(p) for p in live)
    totals = []
    for _ in range(len(live) // 20 + 2):
        page = await products.list(sold_out, ProductSort.NAME, limit=1, offset=None, cursor=None)
        totals.append((page.total, page.total_precision))
    assert totals[-1] == (wanted, "exact") == totals[-2]
    going_on = [total for total, precision in totals if precision == "at_least"]
    # "at least" and growing until done, by at most a step a request
    assert len(going_on) > 1 and max(going_on) <= wanted
    steps = [b - a for a, b in itertools.pairwise([0, *going_on, wanted])]
    assert all(0 <= step <= 20 for step in steps), steps
    # a write that changes what it counts starts it again
    stocked = next(p for p in live if p.stock > 0 and p.price >= Decimal("9.99"))
    await repository.adjust_stock(stocked.id, -stocked.stock, stocked.created_at)
    page = await products.list(sold_out, ProductSort.NAME, limit=1, offset=None, cursor=None)
    assert page.total_precision == "at_least"


async def test_after_a_write_an_offset_page_follows_the_logged_moves_without_reading_the_keys(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, recorder = catalog
    repository = dense_anchors(products)
    listings = [
        (FILTERS[0], ProductSort.PRICE),
        (FILTERS[0], ProductSort.CREATED_AT_DESC),
        (FILTERS[1], ProductSort.NAME_DESC),
    ]
    ids = [p.id for p in live]
    await assert_offset_pages_are_slices(products, live, listings, step=11)  # anchors known
    rng = random.Random(3)
    later = max(p.created_at for p in live)
    for n in range(12):
        victim = rng.choice(ids)
        if n % 3 == 0:
            made = await repository.add(
                NewProduct.create(
                    name=f"{rng.choice(WORDS)} new {n:04d}",
                    price=Decimal(rng.choice(["1.00", "12.00", "40.00"])),
                    category=rng.choice(["mugs", None]),
                ),
                later + timedelta(milliseconds=n),
            )
            ids.append(made.id)
        elif n % 3 == 1:
            await repository.delete(victim, later)
            ids.remove(victim)
        else:
            changes = {"price": rng.choice(["2.00", "50.00"]), "name": f"Moved {n}"}
            await repository.update(victim, ProductChanges.create(changes), later)
        now_live = list((await repository.get_many(ids)).values())
        for product_filter, sort in listings:
            whole = expected(now_live, product_filter, sort)
            offset = rng.randrange(8, len(whole) - 7)
            recorder.finds.clear()
            page = await products.list(product_filter, sort, limit=7, offset=offset, cursor=None)
            assert [item.id for item in page.items] == whole[offset : offset + 7], (n, sort)
            # a page's own reads (a few windows of ~4 products), not the listing's keys again
            assert len(recorder.finds) <= 12, (n, sort, len(recorder.finds))


async def test_anchors_read_while_a_write_was_in_flight_are_read_again_after_it(
    catalog: tuple[Products, list[Product], FindRecorder],
) -> None:
    products, live, _ = catalog
    repository = dense_anchors(products)
    later = max(p.created_at for p in live)
    new = NewProduct.create(name="Cheap kettle", price=Decimal("0.50"), category="mugs")
    # a write announced and made, not yet logged: what is read now already holds it
    async with repository.moves.writing() as write:
        doc = repository._new_document(new, later)
        await repository.products.insert_one(doc)
        whole = expected([*live, to_product(doc)], FILTERS[0], ProductSort.PRICE)
        page = await products.list(FILTERS[0], ProductSort.PRICE, limit=7, offset=90, cursor=None)
        assert [item.id for item in page.items] == whole[90:97]
        write.moved(key_moves(None, doc))
    # its log entry must not move the anchors that already counted it
    for offset in (40, 90, 150):
        page = await products.list(
            FILTERS[0], ProductSort.PRICE, limit=7, offset=offset, cursor=None
        )
        assert [item.id for item in page.items] == whole[offset : offset + 7], offset
