"""Stock reservations: a set of (product, quantity) lines taken all together or not at all,
under an id the caller chooses so that every call is idempotent."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from platform_kit.errors import InvalidInput
from platform_kit.stock import Shortage

__all__ = [
    "ReservationChange",
    "ReservationFailure",
    "ReservationLine",
    "ReservationRecord",
    "ReservationState",
    "ReservedLine",
    "validate_lines",
    "validate_reservation_id",
]

_RESERVATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_LINES = 100
MAX_QUANTITY = 1_000_000


class ReservationState(StrEnum):
    RESERVING = "reserving"  # being applied; a lease names the worker applying it
    RESERVED = "reserved"
    FAILED = "failed"  # nothing taken; the failure is kept so a repeat answers the same
    RELEASING = "releasing"  # units on their way back
    RELEASED = "released"
    COMMITTED = "committed"


@dataclass(frozen=True, slots=True)
class ReservationLine:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReservedLine:
    product_id: str
    name: str
    unit_price: Decimal
    currency: str
    quantity: int


def validate_reservation_id(value: str) -> str:
    if not _RESERVATION_ID.match(value):
        raise InvalidInput("reservation_id", "must be 1 to 64 letters, digits, '-' or '_'")
    return value


def validate_lines(lines: list[Any]) -> list[ReservationLine]:
    """Lines in product-id order, so every worker touches products in the same order."""
    if not lines:
        raise InvalidInput("lines", "must not be empty")
    if len(lines) > MAX_LINES:
        raise InvalidInput("lines", f"at most {MAX_LINES} lines")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not isinstance(line, ReservationLine):
            raise InvalidInput(f"lines[{index}]", "must be a reservation line")
        if line.product_id in seen:
            raise InvalidInput(f"lines[{index}].product_id", "repeats an earlier line")
        if isinstance(line.quantity, bool) or not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"lines[{index}].quantity", f"must be a whole number from 1 to {MAX_QUANTITY}"
            )
        seen.add(line.product_id)
    return sorted(lines, key=lambda line: line.product_id)


@dataclass(frozen=True, slots=True)
class ReservationFailure:
    """Why a reservation took nothing: kept so a repeat answers as the first call did."""

    kind: str  # "insufficient_stock" | "unknown_products"
    shortages: tuple[Shortage, ...] = ()
    unknown_products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    id: str
    state: ReservationState
    lines: tuple[ReservationLine, ...]
    reserved: tuple[ReservedLine, ...] = ()
    failure: ReservationFailure | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None

    def same_request(self, lines: list[ReservationLine]) -> bool:
        return list(self.lines) == lines


@dataclass(frozen=True, slots=True)
class ReservationChange:
    """A record's move from one of `from_states` to another state, with what the move brings
    (the reserved lines, the failure). With `owner`, only the worker holding the lease may
    make it; any move out of `reserving` ends the lease."""

    from_states: Collection[ReservationState]
    to: ReservationState
    owner: str | None = None
    reserved: tuple[ReservedLine, ...] | None = None
    failure: ReservationFailure | None = None

    @property
    def ends_lease(self) -> bool:
        return self.to is not ReservationState.RESERVING

    def allowed_for(self, record: ReservationRecord) -> bool:
        return record.state in self.from_states and self.owner in (None, record.lease_owner)

    def applied_to(self, record: ReservationRecord) -> ReservationRecord:
        return replace(
            record,
            state=self.to,
            reserved=record.reserved if self.reserved is None else self.reserved,
            failure=record.failure if self.failure is None else self.failure,
            lease_owner=None if self.ends_lease else record.lease_owner,
            lease_until=None if self.ends_lease else record.lease_until,
        )
