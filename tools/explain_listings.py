"""Every query of every listing, explained on a loaded database: runs each product listing
(each sort, each filter alone and with a sort, `q`, cursor pages, offsets up to 10,000) and
each order listing (all orders, one customer's, a status, offsets) through the services'
own repositories, records every `find` they send, and prints the winning plan's stages of
each distinct query shape; exits 1 if any is a collection scan or sorts in memory.

    .venv/bin/python tools/explain_listings.py mongodb://127.0.0.1:27017/inventory \\
        mongodb://127.0.0.1:27017/orders

`make bench-listings` runs it on each catalog it loads (100 and 100,000 products and orders).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

from pymongo import AsyncMongoClient

from inventory.adapters.indexes import LISTING_STATE as PRODUCT_STATE
from inventory.adapters.indexes import PRODUCTS
from inventory.adapters.mongo_products import MongoProductRepository
from inventory.domain.listing import ProductFilter, ProductSort
from inventory.service_layer.products import Products
from orders.adapters.indexes import LISTING_STATE as ORDER_STATE
from orders.adapters.indexes import ORDERS
from orders.adapters.mongo_orders import MongoOrderRepository
from orders.domain.listing import cursor_after, listed_statuses, page_request
from orders.domain.order import OrderStatus
from platform_devkit.index_reads import FindRecorder, winning_plans
from platform_kit.count_cache import CountCache, ScopeCounts

FILTERS = [
    ProductFilter.create(),
    ProductFilter.create(category="cat3"),
    ProductFilter.create(min_price=Decimal(10), max_price=Decimal(20)),
    ProductFilter.create(in_stock=False),
    ProductFilter.create(in_stock=True),
    ProductFilter.create(category="cat3", in_stock=True, max_price=Decimal(500)),
    ProductFilter.create(q="scale 1234"),
    ProductFilter.create(q="kettle"),
]
OFFSETS = (1000, 10_000)


async def product_listings(uri: str, recorder: FindRecorder) -> None:
    async with AsyncMongoClient[dict[str, Any]](uri, event_listeners=[recorder]) as client:
        db = client.get_default_database()
        counts = CountCache(db[PRODUCT_STATE], PRODUCTS)
        products = Products(
            MongoProductRepository(db[PRODUCTS], counts, ScopeCounts(db[PRODUCT_STATE], PRODUCTS))
        )
        for product_filter, sort in itertools.product(FILTERS, ProductSort):
            cursor = None
            for _ in range(3):  # the first page and two by cursor
                page = await products.list(
                    product_filter, sort, limit=20, offset=None, cursor=cursor
                )
                cursor = page.next_cursor
                if cursor is None:
                    break
            if product_filter.q is None:
                for offset in OFFSETS:
                    await products.list(product_filter, sort, limit=20, offset=offset, cursor=None)


async def order_listings(uri: str, recorder: FindRecorder) -> None:
    async with AsyncMongoClient[dict[str, Any]](uri, event_listeners=[recorder]) as client:
        db = client.get_default_database()
        orders = MongoOrderRepository(db[ORDERS], CountCache(db[ORDER_STATE], ORDERS))
        for user_id, status in itertools.product([None, "customer-7"], [None, OrderStatus.PENDING]):
            statuses = listed_statuses(status)
            first = page_request(limit=20, offset=None, cursor=None)
            found = await orders.find_page(user_id=user_id, statuses=statuses, page=first)
            if found.resume_after is not None:
                cursor = cursor_after(found.resume_after, 20).encode()
                following = page_request(limit=20, offset=None, cursor=cursor)
                await orders.find_page(user_id=user_id, statuses=statuses, page=following)
            for offset in OFFSETS:
                deep = page_request(limit=20, offset=offset, cursor=None)
                await orders.find_page(user_id=user_id, statuses=statuses, page=deep)


def stages(plan: str) -> str:
    return "+".join(re.findall(r"'stage': '(\w+)'", plan))


async def explain(uri: str, run: Any) -> tuple[int, list[str]]:
    """How many query shapes the listings sent, and the bad ones (with their plans)."""
    recorder = FindRecorder()
    await run(uri, recorder)
    async with AsyncMongoClient[dict[str, Any]](uri) as client:
        plans = await winning_plans(client.get_default_database(), recorder.finds)
    seen = Counter(stages(plan) for plan in plans.values())
    print(f"  {len(recorder.finds)} finds, {len(plans)} shapes; winning plans: {dict(seen)}")
    bad = [
        f"{shape}: {plan}"
        for shape, plan in plans.items()
        if "IXSCAN" not in plan or "COLLSCAN" in plan or "'SORT'" in plan
    ]
    return len(plans), bad


async def explain_all(inventory_uri: str, orders_uri: str) -> list[str]:
    print("products:")
    _, bad = await explain(inventory_uri, product_listings)
    print("orders:")
    _, bad_orders = await explain(orders_uri, order_listings)
    return bad + bad_orders


def main() -> int:
    bad = asyncio.run(explain_all(sys.argv[1], sys.argv[2]))
    for line in bad:
        print("NOT AN INDEX RANGE IN INDEX ORDER:", line)
    print("every query an index range read in index order" if not bad else f"{len(bad)} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
