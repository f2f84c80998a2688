"""Orders in MongoDB: money as Decimal128, status changes as compare-and-set updates.

A status change is a conditional update_one (never findAndModify, which SecantusDB answers by
scanning the collection); the order after it is the one read by _id with the change laid
over it, so it is exactly what our change made even if a later change has landed since."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from bson import Decimal128, ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from orders.adapters.ports import OrderRepository, SlotTaken
from orders.domain.order import (
    Order,
    OrderLine,
    OrderStatus,
    RequestedLine,
    StatusChange,
    total_of,
)
from platform_kit.mongo import from_document, to_document
from platform_kit.paging import PageRequest

__all__ = ["MongoOrderRepository"]

Document = dict[str, Any]


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


def _to_order(doc: Document) -> Order:
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
    def __init__(self, orders: AsyncCollection[Document]) -> None:
        self.orders = orders

    def next_id(self) -> str:
        return str(ObjectId())

    async def insert(self, order: Order) -> Order | None:
        try:
            await self.orders.insert_one(_to_document(order))
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
        return None

    async def slots_in_use(self, user_id: str) -> set[int]:
        cursor = self.orders.find(
            {"user_id": {"$eq": user_id}, "slot": {"$type": "int"}}, {"_id": 0, "slot": 1}
        )
        return {int(doc["slot"]) async for doc in cursor}

    async def find_by_key(self, user_id: str, key: str) -> Order | None:
        doc = await self.orders.find_one({"user_id": user_id, "idempotency_key": {"$eq": key}})
        return _to_order(doc) if doc else None

    async def get(self, order_id: str) -> Order | None:
        doc = await self.orders.find_one({"_id": {"$eq": order_id}})
        return _to_order(doc) if doc else None

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        ids = [oid for oid in set(order_ids) if isinstance(oid, str)]
        if not ids:
            return {}
        return {doc["_id"]: _to_order(doc) async for doc in self.orders.find({"_id": {"$in": ids}})}

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
        result = await self.orders.update_one(
            {"_id": {"$eq": order_id}, "status": {"$in": [s.value for s in change.from_statuses]}},
            update,
        )
        if result.matched_count == 0:
            return None
        if known is not None and change.allowed_for(known):
            return change.applied_to(known)
        doc = await self.orders.find_one({"_id": {"$eq": order_id}})
        if doc is None:
            return None
        after = {**doc, **update["$set"]}
        for name in update.get("$unset", ()):
            after.pop(name, None)
        return _to_order(after)

    async def find_page(
        self,
        *,
        user_id: str | None,
        statuses: Collection[OrderStatus],
        page: PageRequest[datetime],
    ) -> tuple[list[Order], int]:
        query: Document = {"status": {"$in": [s.value for s in statuses]}}
        if user_id is not None:
            query["user_id"] = {"$eq": user_id}
        total = await self.orders.count_documents(query)
        if page.cursor is not None:
            at, last = page.cursor.key, page.cursor.last_id
            query = {
                "$and": [
                    query,
                    {
                        "$or": [
                            {"created_at": {"$lt": at}},
                            {"created_at": {"$eq": at}, "_id": {"$lt": last}},
                        ]
                    },
                ]
            }
        find = self.orders.find(query).sort([("created_at", -1), ("_id", -1)])
        if page.cursor is None and page.offset:
            find = find.skip(page.offset)
        docs = await find.limit(page.limit).to_list()
        return [_to_order(doc) for doc in docs], total

    async def stuck(self, statuses: Collection[OrderStatus], before: datetime) -> list[Order]:
        cursor = self.orders.find(
            {"status": {"$in": [s.value for s in statuses]}, "updated_at": {"$lt": before}}
        ).limit(500)
        return [_to_order(doc) async for doc in cursor]
