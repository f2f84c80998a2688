"""The stock reservation API the order subgraph calls (service role only).
See docs/architecture.md, "Stock reservation API"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from inventory.domain.reservation import ReservationLine, ReservationRecord
from inventory.service_layer.auth import require_service
from inventory.service_layer.reservations import Reservations
from platform_kit.middleware import principal_of
from platform_kit.money import format_money

__all__ = ["router"]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: StrictStr = Field(min_length=1, max_length=64)
    quantity: StrictInt


class ReserveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(max_length=100)


class LineOut(BaseModel):
    product_id: str
    name: str
    unit_price: str
    currency: str
    quantity: int


class ReservationOut(BaseModel):
    reservation_id: str
    status: str
    lines: list[LineOut]

    @classmethod
    def of(cls, record: ReservationRecord) -> ReservationOut:
        return cls(
            reservation_id=record.id,
            status=record.state.value,
            lines=[
                LineOut(
                    product_id=line.product_id,
                    name=line.name,
                    unit_price=format_money(line.unit_price),
                    currency=line.currency,
                    quantity=line.quantity,
                )
                for line in record.reserved
            ],
        )


def _reservations(request: Request) -> Reservations:
    """The use cases, for the service role only: a router dependency, so identity (401)
    and role (403) are checked before the body or the id is (422)."""
    require_service(principal_of(request))
    reservations: Reservations = request.app.state.services.reservations
    return reservations


ServiceReservations = Annotated[Reservations, Depends(_reservations)]

router = APIRouter(
    prefix="/internal/reservations", tags=["internal"], dependencies=[Depends(_reservations)]
)


@router.put("/{reservation_id}")
async def reserve(
    reservations: ServiceReservations, reservation_id: str, body: Annotated[ReserveIn, Body()]
) -> ReservationOut:
    lines = [ReservationLine(line.product_id, line.quantity) for line in body.lines]
    return ReservationOut.of(await reservations.reserve(reservation_id, lines))


@router.post("/{reservation_id}/release")
async def release(reservations: ServiceReservations, reservation_id: str) -> ReservationOut:
    return ReservationOut.of(await reservations.release(reservation_id))


@router.post("/{reservation_id}/commit")
async def commit(reservations: ServiceReservations, reservation_id: str) -> ReservationOut:
    return ReservationOut.of(await reservations.commit(reservation_id))


@router.get("/{reservation_id}")
async def get(reservations: ServiceReservations, reservation_id: str) -> ReservationOut:
    return ReservationOut.of(await reservations.get(reservation_id))
