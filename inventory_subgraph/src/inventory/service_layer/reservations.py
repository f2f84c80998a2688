"""Reserve, release and commit stock: all lines or none, idempotent by reservation id.

Why this is safe without multi-document transactions (so it is right on a standalone mongod
as on SecantusDB):
- The reservation record is written first (unique id) and is the write-ahead log: state
  `reserving` plus a short lease naming the one worker allowed to drive it. A concurrent
  repeat of the same id waits for that worker's outcome and answers the same.
- Each line is one atomic conditional update on its product: take `q` units only if
  `stock >= q` and this reservation does not hold the product yet, and mark the hold. So a
  line is never applied twice, stock never goes below zero, and a half-done reservation can be
  re-driven or rolled back line by line.
- On a short or unknown line the lines already taken are given back (again conditional on the
  hold), then the record becomes `failed` with the reason, which later repeats replay.
- Release marks the record `releasing` before giving units back and `released` after, so a
  crash in between is finished by the next call or by the sweep; giving back is conditional on
  the hold, so the units return exactly once.
- A worker that died mid-way leaves a `reserving` record whose lease expires: the next caller
  for that id, or the periodic sweep, rolls it back.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from inventory.adapters.ports import ReservationStore, StockBook, TakeOutcome
from inventory.domain.errors import ReservationConflict, ReservationNotFound
from inventory.domain.reservation import (
    ReservationChange,
    ReservationFailure,
    ReservationLine,
    ReservationRecord,
    ReservationState,
    ReservedLine,
    validate_lines,
    validate_reservation_id,
)
from platform_kit.clock import Clock, utcnow
from platform_kit.stock import InsufficientStock, Shortage, UnknownProducts

__all__ = ["Reservations"]

POLL_SECONDS = 0.02


class Reservations:
    def __init__(
        self,
        store: ReservationStore,
        stock: StockBook,
        *,
        lease: timedelta = timedelta(seconds=10),
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.stock = stock
        self.lease = lease
        self.clock = clock

    async def reserve(self, reservation_id: str, lines: list[ReservationLine]) -> ReservationRecord:
        validate_reservation_id(reservation_id)
        ordered = validate_lines(lines)
        owner = uuid.uuid4().hex
        fresh = ReservationRecord(
            id=reservation_id,
            state=ReservationState.RESERVING,
            lines=tuple(ordered),
            lease_owner=owner,
            lease_until=self.clock() + self.lease,
        )
        existing = await self.store.insert(fresh)
        if existing is None:
            return await self._drive(fresh, owner)
        if (
            existing.state in (ReservationState.RELEASING, ReservationState.RELEASED)
            and not existing.lines
        ):
            raise ReservationConflict(f"reservation {reservation_id!r} was released")
        if not existing.same_request(ordered):
            raise ReservationConflict(f"reservation {reservation_id!r} was made with other lines")
        settled = await self._settled(existing)
        return self._answer(settled)

    async def release(self, reservation_id: str) -> ReservationRecord:
        validate_reservation_id(reservation_id)
        tombstone = ReservationRecord(id=reservation_id, state=ReservationState.RELEASED, lines=())
        existing = await self.store.insert(tombstone)
        if existing is None:
            return tombstone
        record = await self._settled(existing)
        if record.state is ReservationState.COMMITTED:
            raise ReservationConflict(f"reservation {reservation_id!r} is committed")
        if record.state is ReservationState.FAILED:
            moved = await self._move(
                reservation_id, ReservationState.FAILED, ReservationState.RELEASED
            )
            return moved or await self._required(reservation_id)
        if record.state is ReservationState.RESERVED:
            await self._move(reservation_id, ReservationState.RESERVED, ReservationState.RELEASING)
        return await self._finish_release(reservation_id)

    async def commit(self, reservation_id: str) -> ReservationRecord:
        validate_reservation_id(reservation_id)
        record = await self.store.get(reservation_id)
        if record is None:
            raise ReservationNotFound(reservation_id)
        record = await self._settled(record)
        if record.state is ReservationState.RESERVED:
            moved = await self._move(
                reservation_id, ReservationState.RESERVED, ReservationState.COMMITTED
            )
            record = moved or await self._required(reservation_id)
        if record.state is not ReservationState.COMMITTED:
            raise ReservationConflict(
                f"reservation {reservation_id!r} is {record.state.value}, not reserved"
            )
        for line in record.lines:
            await self.stock.forget(reservation_id, line.product_id)
        return record

    async def get(self, reservation_id: str) -> ReservationRecord:
        validate_reservation_id(reservation_id)
        return await self._required(reservation_id)

    async def sweep(self) -> int:
        """Finish what crashed workers left: roll back expired `reserving` records and
        complete `releasing` ones. Returns how many records it settled."""
        settled = 0
        for record in await self.store.stale(self.clock()):
            if record.state is ReservationState.RELEASING:
                await self._finish_release(record.id)
                settled += 1
            elif record.state is ReservationState.RESERVING:
                owner = uuid.uuid4().hex
                taken = await self.store.take_over(
                    record.id,
                    now=self.clock(),
                    new_owner=owner,
                    lease_until=self.clock() + self.lease,
                )
                if taken is not None:
                    await self._roll_back(taken, owner, ReservationFailure(kind="abandoned"))
                    settled += 1
        return settled

    async def _drive(self, record: ReservationRecord, owner: str) -> ReservationRecord:
        reserved: list[ReservedLine] = []
        for index, line in enumerate(record.lines):
            outcome = await self.stock.take(record.id, line)
            if outcome.taken is not None:
                reserved.append(outcome.taken)
                continue
            failure = await self._diagnose(line, outcome, record.lines[index + 1 :])
            taken = record.lines[:index]  # only these can hold units of this reservation
            return self._answer(await self._roll_back(record, owner, failure, taken))
        change = ReservationChange(
            {ReservationState.RESERVING}, ReservationState.RESERVED, owner, reserved=tuple(reserved)
        )
        moved = await self.store.transition(record.id, change, known=record)
        if moved is None:  # our lease was taken over (we were too slow): answer its outcome
            return self._answer(await self._settled(await self._required(record.id)))
        return moved

    async def _diagnose(
        self, failed: ReservationLine, outcome: TakeOutcome, rest: tuple[ReservationLine, ...]
    ) -> ReservationFailure:
        """Every short or unknown line from the first failing one on: that one as its take
        found it, the lines after it read without taking."""
        unknown: list[str] = []
        shortages: list[Shortage] = []
        if outcome.unknown:
            unknown.append(failed.product_id)
        else:
            shortages.append(Shortage(failed.product_id, failed.quantity, outcome.available or 0))
        for line in rest:
            available = await self.stock.available(line.product_id)
            if available is None:
                unknown.append(line.product_id)
            elif available < line.quantity:
                shortages.append(Shortage(line.product_id, line.quantity, available))
        if unknown:
            return ReservationFailure(kind="unknown_products", unknown_products=tuple(unknown))
        return ReservationFailure(kind="insufficient_stock", shortages=tuple(shortages))

    async def _roll_back(
        self,
        record: ReservationRecord,
        owner: str,
        failure: ReservationFailure,
        held: tuple[ReservationLine, ...] | None = None,
    ) -> ReservationRecord:
        """Gives back the `held` lines (all when not known, as after a crashed worker)."""
        for line in record.lines if held is None else held:
            await self.stock.give_back(record.id, line)
        change = ReservationChange(
            {ReservationState.RESERVING}, ReservationState.FAILED, owner, failure=failure
        )
        moved = await self.store.transition(record.id, change, known=record)
        return moved or await self._settled(await self._required(record.id))

    async def _finish_release(self, reservation_id: str) -> ReservationRecord:
        record = await self._required(reservation_id)
        if record.state is ReservationState.RELEASING:
            for line in record.lines:
                await self.stock.give_back(reservation_id, line)
            moved = await self._move(
                reservation_id, ReservationState.RELEASING, ReservationState.RELEASED
            )
            record = moved or await self._required(reservation_id)
        return record

    async def _settled(self, record: ReservationRecord) -> ReservationRecord:
        """Wait while another worker holds a live lease; take over an expired one."""
        while record.state is ReservationState.RESERVING:
            now = self.clock()
            if record.lease_until is not None and record.lease_until <= now:
                owner = uuid.uuid4().hex
                taken = await self.store.take_over(
                    record.id, now=now, new_owner=owner, lease_until=now + self.lease
                )
                if taken is not None:
                    return await self._roll_back(taken, owner, ReservationFailure(kind="abandoned"))
            await asyncio.sleep(POLL_SECONDS)
            record = await self._required(record.id)
        return record

    async def _move(
        self, reservation_id: str, from_state: ReservationState, to: ReservationState
    ) -> ReservationRecord | None:
        return await self.store.transition(reservation_id, ReservationChange({from_state}, to))

    async def _required(self, reservation_id: str) -> ReservationRecord:
        record = await self.store.get(reservation_id)
        if record is None:
            raise ReservationNotFound(reservation_id)
        return record

    @staticmethod
    def _answer(record: ReservationRecord) -> ReservationRecord:
        """A settled record as the caller of reserve sees it."""
        if record.state in (ReservationState.RESERVED, ReservationState.COMMITTED):
            return record
        if record.state is ReservationState.FAILED and record.failure is not None:
            failure = record.failure
            if failure.kind == "unknown_products":
                raise UnknownProducts(list(failure.unknown_products))
            if failure.kind == "insufficient_stock":
                raise InsufficientStock(list(failure.shortages))
            raise ReservationConflict(
                f"reservation {record.id!r} was abandoned by a worker that stopped; "
                "use a new reservation id"
            )
        raise ReservationConflict(f"reservation {record.id!r} is {record.state.value}")
