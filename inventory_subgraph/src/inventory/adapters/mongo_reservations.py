"""Reservation records in MongoDB: the write-ahead log of every stock reservation.

State changes are compare-and-set update_one calls (never findAndModify, which SecantusDB
answers by scanning the collection); the record after the change is the one read by _id with
the fields we set laid over it, so it is exactly what our change made even if a later change
has landed since."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from inventory.adapters.ports import ReservationStore
from inventory.domain.reservation import (
    ReservationChange,
    ReservationFailure,
    ReservationLine,
    ReservationRecord,
    ReservationState,
    ReservedLine,
)
from platform_kit.clock import Clock, utcnow
from platform_kit.mongo import from_document, to_document
from platform_kit.stock import Shortage

__all__ = ["MongoReservationStore"]

Document = dict[str, Any]
RELEASING_GRACE = timedelta(seconds=5)


def _to_document(record: ReservationRecord, now: datetime) -> Document:
    return {
        "_id": record.id,
        "state": record.state.value,
        "lines": [to_document(line) for line in record.lines],
        "reserved": [],
        "failure": None,
        "lease_owner": record.lease_owner,
        "lease_until": record.lease_until,
        "created_at": now,
        "updated_at": now,
    }


def _failure_document(failure: ReservationFailure) -> Document:
    return {
        "kind": failure.kind,
        "shortages": [[s.product_id, s.requested, s.available] for s in failure.shortages],
        "unknown_products": list(failure.unknown_products),
    }


def _to_record(doc: Document) -> ReservationRecord:
    failure = doc.get("failure")
    return ReservationRecord(
        id=doc["_id"],
        state=ReservationState(doc["state"]),
        lines=tuple(from_document(ReservationLine, line) for line in doc.get("lines", [])),
        reserved=tuple(from_document(ReservedLine, line) for line in doc.get("reserved", [])),
        failure=ReservationFailure(
            kind=failure["kind"],
            shortages=tuple(Shortage(s[0], int(s[1]), int(s[2])) for s in failure["shortages"]),
            unknown_products=tuple(failure["unknown_products"]),
        )
        if failure
        else None,
        lease_owner=doc.get("lease_owner"),
        lease_until=doc.get("lease_until"),
    )


class MongoReservationStore(ReservationStore):
    def __init__(self, reservations: AsyncCollection[Document], clock: Clock = utcnow) -> None:
        self.reservations = reservations
        self._now = clock

    async def insert(self, record: ReservationRecord) -> ReservationRecord | None:
        try:
            await self.reservations.insert_one(_to_document(record, self._now()))
        except DuplicateKeyError:
            return await self.get(record.id)
        return None

    async def get(self, reservation_id: str) -> ReservationRecord | None:
        doc = await self.reservations.find_one({"_id": reservation_id})
        return _to_record(doc) if doc else None

    async def transition(
        self,
        reservation_id: str,
        change: ReservationChange,
        *,
        known: ReservationRecord | None = None,
    ) -> ReservationRecord | None:
        query: Document = {
            "_id": reservation_id,
            "state": {"$in": [state.value for state in change.from_states]},
        }
        if change.owner is not None:
            query["lease_owner"] = change.owner
        changes: Document = {"state": change.to.value, "updated_at": self._now()}
        if change.reserved is not None:
            changes["reserved"] = [to_document(line) for line in change.reserved]
        if change.failure is not None:
            changes["failure"] = _failure_document(change.failure)
        if change.ends_lease:
            changes["lease_owner"] = None
            changes["lease_until"] = None
        if known is not None and change.allowed_for(known):
            result = await self.reservations.update_one(query, {"$set": changes})
            return change.applied_to(known) if result.matched_count else None
        return await self._set_where(query, changes)

    async def take_over(
        self, reservation_id: str, *, now: datetime, new_owner: str, lease_until: datetime
    ) -> ReservationRecord | None:
        return await self._set_where(
            {
                "_id": reservation_id,
                "state": ReservationState.RESERVING.value,
                "lease_until": {"$lte": now},
            },
            {"lease_owner": new_owner, "lease_until": lease_until, "updated_at": now},
        )

    async def _set_where(self, query: Document, changes: Document) -> ReservationRecord | None:
        result = await self.reservations.update_one(query, {"$set": changes})
        if result.matched_count == 0:
            return None
        doc = await self.reservations.find_one({"_id": query["_id"]})
        return _to_record({**doc, **changes}) if doc else None

    async def stale(self, now: datetime) -> list[ReservationRecord]:
        cursor = self.reservations.find(
            {
                "$or": [
                    {"state": ReservationState.RESERVING.value, "lease_until": {"$lte": now}},
                    {
                        "state": ReservationState.RELEASING.value,
                        "updated_at": {"$lte": now - RELEASING_GRACE},
                    },
                ]
            }
        ).limit(500)
        return [_to_record(doc) async for doc in cursor]
