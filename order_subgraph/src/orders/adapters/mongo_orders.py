"""Orders in MongoDB: money as Decimal128, status changes as compare-and-set updates.

A status change is a conditional update_one (never findAndModify, which SecantusDB answers by
scanning the collection); the order after it is the one read by _id with the change laid
over it, so it is exactly what our change made even if a later change has landed since."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from bson import Decimal128, ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from orders.adapters.ports import OrderRepository, SlotTaken
from orders.domain.listing import listed_statuses
from orders.domain.order import (
    Order,
    OrderLine,
    OrderStatus,
    RequestedLine,
    StatusChange,
    total_of,
)
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.database_turns import database_turn
from platform_kit.keyset_walk import KeyRange, KeysetWalk, OrderedField, take
from platform_kit.mongo import from_document, to_document
from platform_kit.offset_index import OffsetIndex
from platform_kit.ordered_keys import (
    draw_tier,
    fence_value,
    join,
    scope_end,
    scope_start,
    text_part,
    time_part,
)
from platform_kit.paging import PageRequest, Slice

__all__ = [
    "ALL_ORDERS",
    "BY_CUSTOMER",
    "MongoOrderRepository",
    "key_orders",
    "listing_terms",
    "order_document",
    "recount_orders",
    "status_scopes",
    "to_order",
]

Document = dict[str, Any]
# Listings, newest first, as bounded index ranges (platform_kit.keyset_walk): every order's
# key (creation time, id) in all orders and within its customer's, and fences on a sample.
ALL_ORDERS = OrderedField("kg_created", "fg_created")
BY_CUSTOMER = OrderedField("ku_created", "fu_created")
# what a listing's total depends on: orders placed, and orders changing status
PLACED = "placed"
STATUS = "status"
VISIBILITY = "visibility"  # an order became shown (reserved) or stays hidden for good
_ALL_STATUSES = frozenset(listed_statuses(None))
_TRANSITION_ATTEMPTS = 8  # reads of the status when the one we knew was not the stored one


def status_scopes(user_id: str, status: OrderStatus) -> list[str]:
    """The counted scopes an order is in: its status among all orders, and among its
    customer's."""
    return [f"status:{status.value}", f"status:{status.value}:user:{user_id}"]


def listing_terms(user_id: str | None, statuses: Collection[OrderStatus]) -> dict[str, int]:
    """The stored counts whose sum is a listing's total: one per status it shows."""
    index = 0 if user_id is None else 1
    return {status_scopes(user_id or "", status)[index]: 1 for status in statuses}


def listing_keys(order_id: str, user_id: str, created_at: datetime, tier: int) -> Document:
    key = join(time_part(created_at), order_id)
    in_customer = join(text_part(user_id), key)
    keys: Document = {ALL_ORDERS.key: key, BY_CUSTOMER.key: in_customer, "tier": tier}
    if tier:
        keys[ALL_ORDERS.fence] = fence_value(tier, key)
        keys[BY_CUSTOMER.fence] = fence_value(tier, in_customer)
    return keys


async def key_orders(orders: AsyncCollection[Document]) -> int:
    """Orders stored before listings had keys get them (once, at start-up)."""
    done = 0
    async for doc in orders.find(
        {ALL_ORDERS.key: {"$exists": False}}, {"user_id": 1, "created_at": 1}
    ):
        keys = listing_keys(doc["_id"], doc["user_id"], doc["created_at"], draw_tier())
        result = await orders.update_one({"_id": doc["_id"]}, {"$set": keys})
        done += result.modified_count
    return done


async def recount_orders(
    orders: AsyncCollection[Document], scopes: ScopeCounts, counts: CountCache
) -> bool:
    """Counts every status scope again from the orders themselves (at start-up: mends a
    count a crash left off between a write and its count). Kept only if no order was
    placed or changed status meanwhile."""
    before = await counts.generations((PLACED, STATUS))
    found: Counter[str] = Counter()
    walk = KeysetWalk(orders, ALL_ORDERS, {"status": 1, "user_id": 1, "_id": 0})
    async for window in walk.windows(KeyRange(), window_tier=1):
        for doc in window:
            found.update(status_scopes(doc["user_id"], OrderStatus(doc["status"])))
    if await counts.generations((PLACED, STATUS)) != before:
        return False
    await scopes.replace(found, await scopes.scopes())
    return True


def _line_document(line: OrderLine) -> Document:
    return {**to_document(line), "line_total": Decimal128(line.line_total)}


def _to_document(order: Order) -> Document:
    doc: Document = {
        "_id": order.id,
        "user_id": order.user_id,
        "status": order.status.value,
        "requested": [to_document(line) for line in order.requested],
        "fingerprint": order.fingerprint,
        "items": [_line_document(line) for line in order.items],
        "total": Decimal128(order.total),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if order.idempotency_key is not None:
        doc["idempotency_key"] = order.idempotency_key
    if order.slot is not None:
        doc["slot"] = order.slot
    return doc


def order_document(order: Order, tier: int) -> Document:
    """An order as stored, with its listing keys and fences (`tier`: ordered_keys)."""
    doc = _to_document(order)
    doc.update(listing_keys(order.id, order.user_id, order.created_at, tier))
    return doc


def to_order(doc: Document) -> Order:
    return Order(
        id=doc["_id"],
        user_id=doc["user_id"],
        status=OrderStatus(doc["status"]),
        requested=tuple(from_document(RequestedLine, line) for line in doc["requested"]),
        fingerprint=doc["fingerprint"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        items=tuple(from_document(OrderLine, line) for line in doc["items"]),
        idempotency_key=doc.get("idempotency_key"),
        slot=doc.get("slot"),
    )


class MongoOrderRepository(OrderRepository):
    def __init__(
        self,
        orders: AsyncCollection[Document],
        counts: CountCache,
        tiers: Callable[[], int] = draw_tier,
    ) -> None:
        self.orders = orders
        self.counts = counts
        # each status's count, among all orders and per customer: a listing's total is a
        # read of a few of them, never a count of orders
        self.scopes = ScopeCounts(counts.state, counts.listing)
        self.tiers = tiers  # each new order's fence tier (tests sample more densely)
        # where an offset page of every status starts: it moves when orders are placed and
        # when one is shown or hidden (never shown: reserving, failed)
        self.offsets = OffsetIndex(counts, (PLACED, VISIBILITY))

    def next_id(self) -> str:
        return str(ObjectId())

    async def insert(self, order: Order) -> Order | None:
        doc = order_document(order, self.tiers())
        try:
            await self.orders.insert_one(doc)
        except DuplicateKeyError:
            # two unique indexes may refuse it: the idempotency key's, then the slot's
            if order.idempotency_key is not None:
                existing = await self.find_by_key(order.user_id, order.idempotency_key)
                if existing is not None:
                    return existing
            if order.slot is not None and await self.orders.find_one(
                {"user_id": {"$eq": order.user_id}, "slot": {"$eq": order.slot}}, {"_id": 1}
            ):
                raise SlotTaken() from None
            return await self.insert(order)  # what refused it was freed meanwhile: again
        await self.scopes.moved(dict.fromkeys(status_scopes(order.user_id, order.status), 1))
        await self.counts.moved(PLACED)
        return None

    async def slots_in_use(self, user_id: str) -> set[int]:
        cursor = self.orders.find(
            {"user_id": {"$eq": user_id}, "slot": {"$type": "int"}}, {"_id": 0, "slot": 1}
        )
        return {int(doc["slot"]) async for doc in cursor}

    async def find_by_key(self, user_id: str, key: str) -> Order | None:
        doc = await self.orders.find_one({"user_id": user_id, "idempotency_key": {"$eq": key}})
        return to_order(doc) if doc else None

    async def get(self, order_id: str) -> Order | None:
        doc = await self.orders.find_one({"_id": {"$eq": order_id}})
        return to_order(doc) if doc else None

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        ids = [oid for oid in set(order_ids) if isinstance(oid, str)]
        if not ids:
            return {}
        async with database_turn():
            return {
                doc["_id"]: to_order(doc) async for doc in self.orders.find({"_id": {"$in": ids}})
            }

    async def transition(
        self, order_id: str, change: StatusChange, *, known: Order | None = None
    ) -> Order | None:
        update: Document = {"$set": {"status": change.to.value, "updated_at": change.at}}
        if change.items is not None:
            update["$set"]["items"] = [_line_document(line) for line in change.items]
            update["$set"]["total"] = Decimal128(total_of(change.items))
        freed = {"idempotency_key": change.frees_key, "slot": change.frees_slot}
        if any(freed.values()):
            update["$unset"] = {name: "" for name, frees in freed.items() if frees}
        # the update matches the one status we read, so that we know which count it leaves
        # (from_statuses may span several)
        current = known if known is not None and known.status in change.from_statuses else None
        for _attempt in range(_TRANSITION_ATTEMPTS):
            if current is None:
                current_doc = await self.orders.find_one(
                    {"_id": {"$eq": order_id}}, {"status": 1, "user_id": 1}
                )
                if current_doc is None:
                    return None
                status, user_id = OrderStatus(current_doc["status"]), current_doc["user_id"]
            else:
                status, user_id = current.status, current.user_id
            if status not in change.from_statuses:
                return None
            result = await self.orders.update_one(
                {"_id": {"$eq": order_id}, "status": {"$eq": status.value}}, update
            )
            if result.matched_count == 1:
                break
            current = None  # it changed since: read it again
        else:
            return None
        moves: Counter[str] = Counter()
        moves.update(dict.fromkeys(status_scopes(user_id, status), -1))
        moves.update(dict.fromkeys(status_scopes(user_id, change.to), 1))
        await self.scopes.moved(moves)
        if any(status.visible != change.to.visible for status in change.from_statuses):
            await self.counts.moved(STATUS, VISIBILITY)
        else:
            await self.counts.moved(STATUS)
        if known is not None and change.allowed_for(known):
            return change.applied_to(known)
        doc = await self.orders.find_one({"_id": {"$eq": order_id}})
        if doc is None:
            return None
        after = {**doc, **update["$set"]}
        for name in update.get("$unset", ()):
            after.pop(name, None)
        return to_order(after)

    async def find_page(
        self,
        *,
        user_id: str | None,
        statuses: Collection[OrderStatus],
        page: PageRequest[datetime],
    ) -> Slice[Order]:
        field, keys = _listing(user_id)
        after = None
        if page.cursor is not None:
            after = join(time_part(page.cursor.key), page.cursor.last_id)
            if user_id is not None:
                after = join(text_part(user_id), after)
        wanted = frozenset(statuses)
        every_status = wanted >= _ALL_STATUSES

        def shown(order: Order) -> bool:
            return order.status in wanted

        walk = KeysetWalk(self.orders, field)
        start = keys.narrowed(after, descending=True)
        skip = page.offset if page.cursor is None else 0
        if skip and every_status:
            # every order of the range is listed: the offset is a position in the range
            seek = await self.offsets.seek(
                walk,
                start,
                descending=True,
                offset=skip,
                listed=lambda doc: OrderStatus(doc["status"]) in wanted,
                listed_fields=("status",),
            )
            start, skip = seek.keys, seek.skip
        taken = await take(
            walk,
            start,
            to_order,
            descending=True,
            skip=skip,
            limit=page.limit,
            accept=shown,
            scan_limit=None if every_status else SCAN_LIMIT,
        )
        # the stored counts of the statuses shown (in all orders, or the customer's)
        total = await self.scopes.total(listing_terms(user_id, wanted))
        return Slice(taken.items, total, taken.resume_after)

    async def stuck(self, statuses: Collection[OrderStatus], before: datetime) -> list[Order]:
        cursor = self.orders.find(
            {"status": {"$in": [s.value for s in statuses]}, "updated_at": {"$lt": before}}
        ).limit(500)
        return [to_order(doc) async for doc in cursor]


SCAN_LIMIT = 2_000  # orders one page may read past for a status filter


def _listing(user_id: str | None) -> tuple[OrderedField, KeyRange]:
    if user_id is None:
        return ALL_ORDERS, KeyRange()
    return BY_CUSTOMER, KeyRange(scope_start(user_id), scope_end(user_id))
