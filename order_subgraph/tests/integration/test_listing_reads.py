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
from orders.adapters.mongo_orders import MongoOrderRepository, recount_orders
from orders.domain.listing import cursor_after, listed_statuses, page_request
from orders.domain.order import Order, OrderStatus, StatusChange
from platform_devkit.index_reads import FindRecorder, dense_tiers, winning_plans
from platform_kit.count_cache import CountCache
from platform_kit.offset_index import OffsetIndex

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
    # offset pages: the anchors' key-only reads (by small and by large windows), and pages
    # after them
    for large_windows in (False, True):
        repository.offsets = OffsetIndex(
            repository.counts,
            repository.offsets.aspects,
            spacing=4,
            small_windows_up_to=0 if large_windows else 512,
        )
        for user_id, offset in itertools.product([None, "bob"], (13, 61)):
            await repository.find_page(
                user_id=user_id,
                statuses=listed_statuses(None),
                page=page_request(limit=6, offset=offset, cursor=None),
            )
    async with AsyncMongoClient[dict[str, Any]](mongo_uri) as client:
        plans = await winning_plans(client.get_default_database(), recorder.finds)
    assert len(plans) > 10
    for shape, plan in plans.items():
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, (shape, plan)
        assert "'SORT'" not in plan, (shape, plan)


def newest_first(orders: list[Order], user_id: str | None) -> list[str]:
    mine = [o for o in orders if user_id in (None, o.user_id) and o.status.visible]
    return [o.id for o in sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True)]


async def assert_offset_pages_are_slices(
    repository: MongoOrderRepository, orders: list[Order], step: int
) -> None:
    for user_id in [None, *CUSTOMERS]:
        whole = newest_first(orders, user_id)
        for offset in range(0, len(whole) + 5, step):
            found = await repository.find_page(
                user_id=user_id,
                statuses=listed_statuses(None),
                page=page_request(limit=6, offset=offset, cursor=None),
            )
            assert [o.id for o in found.items] == whole[offset : offset + 6], (user_id, offset)


@pytest.mark.parametrize("large_windows", [False, True])
async def test_every_offset_is_the_slice_of_the_whole_listing_and_follows_new_orders(
    stored: tuple[MongoOrderRepository, list[Order], FindRecorder], large_windows: bool
) -> None:
    repository, orders, _ = stored
    # anchors every 4 orders, so that a few hundred cross many of them
    repository.offsets = OffsetIndex(
        repository.counts,
        repository.offsets.aspects,
        spacing=4,
        small_windows_up_to=0 if large_windows else 512,
    )
    await assert_offset_pages_are_slices(repository, orders, step=4)
    start = max(o.created_at for o in orders)
    # new orders, some of them older than others (keys land anywhere), some never shown
    # (failed) and some shown only once reserved
    hidden = [OrderStatus.FAILED, OrderStatus.RESERVING, OrderStatus.PENDING]
    for n in range(20):
        at = start - timedelta(milliseconds=n * 7 % 60)
        order = Order(
            id=f"{20000 + n:024x}",
            user_id=CUSTOMERS[n % 3],
            status=hidden[n % 3 if n % 2 else 2],
            requested=(),
            fingerprint="f",
            created_at=at,
            updated_at=at,
        )
        assert await repository.insert(order) is None
    orders = list(
        (
            await repository.get_many(
                [o.id for o in orders] + [f"{20000 + n:024x}" for n in range(20)]
            )
        ).values()
    )
    await assert_offset_pages_are_slices(repository, orders, step=7)
    for order in orders:
        if order.status is OrderStatus.RESERVING:
            reserved = StatusChange(
                to=OrderStatus.PENDING,
                at=order.created_at,
                from_statuses=frozenset({OrderStatus.RESERVING}),
            )
            assert await repository.transition(order.id, reserved) is not None
    orders = list((await repository.get_many([o.id for o in orders])).values())
    assert any(o.status is OrderStatus.FAILED for o in orders)
    assert not any(o.status is OrderStatus.RESERVING for o in orders)
    await assert_offset_pages_are_slices(repository, orders, step=7)


async def test_a_status_change_leaves_the_total_of_every_status_counted(
    stored: tuple[MongoOrderRepository, list[Order], FindRecorder],
) -> None:
    repository, orders, recorder = stored
    every = listed_statuses(None)
    first = await repository.find_page(
        user_id=None, statuses=every, page=page_request(limit=5, offset=None, cursor=None)
    )
    pending = next(o for o in orders if o.status is OrderStatus.PENDING)
    change = StatusChange(
        to=OrderStatus.CANCELLED,
        at=pending.created_at,
        from_statuses=frozenset({OrderStatus.PENDING}),
    )
    assert await repository.transition(pending.id, change) is not None
    recorder.finds.clear()
    again = await repository.find_page(
        user_id=None, statuses=every, page=page_request(limit=5, offset=None, cursor=None)
    )
    assert again.total.value == first.total.value == len(orders)
    # a count reads keys only: no such read was needed
    assert not [f for f in recorder.finds if f.get("projection") == {"status": 1}], recorder.finds
    # while the total of one status is counted again
    pending_total = await repository.find_page(
        user_id=None,
        statuses=listed_statuses(OrderStatus.PENDING),
        page=page_request(limit=5, offset=None, cursor=None),
    )
    assert pending_total.total.value == sum(o.status is OrderStatus.PENDING for o in orders) - 1


async def test_status_totals_are_stored_counts_that_follow_every_change_and_a_recount(
    stored: tuple[MongoOrderRepository, list[Order], FindRecorder],
) -> None:
    repository, orders, _ = stored

    async def totals() -> dict[tuple[str | None, OrderStatus | None], int]:
        found = {}
        for user_id, status in itertools.product(
            [None, *CUSTOMERS], [None, OrderStatus.PENDING, OrderStatus.CANCELLED]
        ):
            page = await repository.find_page(
                user_id=user_id,
                statuses=listed_statuses(status),
                page=page_request(limit=1, offset=None, cursor=None),
            )
            found[user_id, status] = page.total.value
        return found

    async def counted() -> dict[tuple[str | None, OrderStatus | None], int]:
        now = list((await repository.get_many(o.id for o in orders)).values())
        return {
            (user_id, status): sum(
                o.status in listed_statuses(status) and user_id in (None, o.user_id) for o in now
            )
            for user_id, status in itertools.product(
                [None, *CUSTOMERS], [None, OrderStatus.PENDING, OrderStatus.CANCELLED]
            )
        }

    assert await totals() == await counted()
    pending = [o for o in orders if o.status is OrderStatus.PENDING][:3]
    # from statuses that span several counts, with and without the order as known
    cancelling = StatusChange(
        to=OrderStatus.CANCELLING,
        at=pending[0].created_at,
        from_statuses=frozenset({OrderStatus.PENDING, OrderStatus.COMPLETED}),
    )
    assert await repository.transition(pending[0].id, cancelling) is not None
    assert await repository.transition(pending[1].id, cancelling, known=pending[1]) is not None
    assert await totals() == await counted()
    cancelled = StatusChange(
        to=OrderStatus.CANCELLED,
        at=pending[0].created_at,
        from_statuses=frozenset({OrderStatus.PENDING, OrderStatus.CANCELLING}),
    )
    # known as pending, stored as cancelling: the stored status is the one counted out
    assert await repository.transition(pending[0].id, cancelled, known=pending[0]) is not None
    assert await repository.transition(pending[0].id, cancelled) is None  # not from cancelled
    assert await totals() == await counted()
    # a crash between a change and its count leaves a count off; the recount mends it
    await repository.scopes.moved({"status:cancelled": 5, "status:pending:user:ann": -2})
    assert await totals() != await counted()
    assert await recount_orders(repository.orders, repository.scopes, repository.counts)
    assert await totals() == await counted()
