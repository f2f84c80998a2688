"""Order listings over a real database, through the repository: newest first, per customer
and for all, every status filter, every page once, and every query an index range read in
index order (explain: no collection scan, no sort in memory). Fences are sampled densely
(one order in 4, tiers up to 3 within a few hundred) so that every tier of the walk is
crossed."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from orders.adapters.indexes import LISTING_STATE, ORDERS, ensure_indexes
from orders.adapters.mongo_orders import MongoOrderRepository
from orders.domain.listing import cursor_after, listed_statuses, page_request
from orders.domain.order import Order, OrderStatus, StatusChange
from platform_devkit.index_reads import FindRecorder, dense_tiers, winning_plans
from platform_kit.count_cache import CountCache

COUNT = 240
CUSTOMERS = ["ann", "bob", "cy\x00z"]


@pytest.fixture
async def stored(
    mongo_uri: str,
) -> AsyncIterator[tuple[MongoOrderRepository, list[Order], FindRecorder]]:
    recorder = FindRecorder()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[recorder]
    )
    db = client.get_default_database()
    await ensure_indexes(db)
    tiers = dense_tiers()
    repository = MongoOrderRepository(
        db[ORDERS], CountCache(db[LISTING_STATE], ORDERS), lambda: next(tiers)
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(COUNT):
        at = start + timedelta(milliseconds=n // 4)  # ties: four orders a millisecond
        order = Order(
            id=f"{n * 7919 % 10007:024x}",
            user_id=CUSTOMERS[n % 3],
            status=OrderStatus.PENDING,
            requested=(),
            fingerprint="f",
            created_at=at,
            updated_at=at,
        )
        assert await repository.insert(order) is None
        if n % 5 == 0:
            changed = await repository.transition(
                order.id,
                StatusChange(
                    to=OrderStatus.COMPLETED, at=at, from_statuses=frozenset({OrderStatus.PENDING})
                ),
            )
            assert changed is not None
    orders = list(
        (await repository.get_many(f"{n * 7919 % 10007:024x}" for n in range(COUNT))).values()
    )
    recorder.finds.clear()
    yield repository, orders, recorder
    await client.close()


async def every_page(
    repository: MongoOrderRepository, user_id: str | None, statuses: set[OrderStatus]
) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor = None
    total = -1
    while True:
        request = page_request(limit=9, offset=None, cursor=cursor)
        found = await repository.find_page(user_id=user_id, statuses=statuses, page=request)
        if total < 0:
            total = found.total.value
        seen += [order.id for order in found.items]
        if found.resume_after is None:
            return seen, total
        cursor = cursor_after(found.resume_after, len(seen)).encode()


@pytest.mark.parametrize("user_id", [None, *CUSTOMERS])
@pytest.mark.parametrize("status", [None, OrderStatus.PENDING, OrderStatus.COMPLETED])
async def test_every_order_of_a_listing_comes_once_newest_first(
    stored: tuple[MongoOrderRepository, list[Order], FindRecorder],
    user_id: str | None,
    status: OrderStatus | None,
) -> None:
    repository, orders, _ = stored
    statuses = listed_statuses(status)
    expected = sorted(
        (o for o in orders if o.status in statuses and user_id in (None, o.user_id)),
        key=lambda o: (o.created_at, o.id),
        reverse=True,
    )
    seen, total = await every_page(repository, user_id, statuses)
    assert seen == [o.id for o in expected]
    assert total == len(expected)


async def test_every_query_of_an_order_listing_is_an_index_range_read_in_index_order(
    stored: tuple[MongoOrderRepository, list[Order], FindRecorder], mongo_uri: str
) -> None:
    repository, _, recorder = stored
    for user_id, status in itertools.product([None, "bob"], [None, OrderStatus.COMPLETED]):
        await every_page(repository, user_id, listed_statuses(status))
    async with AsyncMongoClient[dict[str, Any]](mongo_uri) as client:
        plans = await winning_plans(client.get_default_database(), recorder.finds)
    assert len(plans) > 10
    for shape, plan in plans.items():
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (shape, plan)
        assert "'SORT'" not in plan, (shape, plan)
