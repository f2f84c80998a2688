"""The stock reservation API the order subgraph calls (service role only).
See docs/architecture.md, "Stock reservation API"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from inventory.domain.reservation import ReservationLine, ReservationRecord
from inventory.service_layer.auth import require_service
from inventory.service_layer.reservations import Reservations
from platform_kit.middleware import principal_of
from platform_kit.money import format_money

__all__ = ["reservations_router"]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: StrictStr = Field(min_length=1, max_length=64)
    quantity: StrictInt


class ReserveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(max_length=100)


def _body(record: ReservationRecord) -> dict[str, Any]:
    return {
        "reservation_id": record.id,
        "status": record.state.value,
        "lines": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "unit_price": format_money(line.unit_price),
                "currency": line.currency,
                "quantity": line.quantity,
            }
            for line in record.reserved
        ],
    }


def _service(request: Request) -> Reservations:
    """The use cases, for the service role only: a router dependency, so identity (401)
    and role (403) are checked before the body or the id is (422)."""
    require_service(principal_of(request))
    reservations: Reservations = request.app.state.inventory.reservations
    return reservations


Service = Annotated[Reservations, Depends(_service)]


def reservations_router() -> APIRouter:
    router = APIRouter(
        prefix="/internal/reservations", tags=["internal"], dependencies=[Depends(_service)]
    )

    @router.put("/{reservation_id}")
    async def reserve(
        service: Service, reservation_id: str, body: Annotated[ReserveIn, Body()]
    ) -> dict[str, Any]:
        lines = [ReservationLine(line.product_id, line.quantity) for line in body.lines]
        return _body(await service.reserve(reservation_id, lines))

    @router.post("/{reservation_id}/release")
    async def release(service: Service, reservation_id: str) -> dict[str, Any]:
        return _body(await service.release(reservation_id))

    @router.post("/{reservation_id}/commit")
    async def commit(service: Service, reservation_id: str) -> dict[str, Any]:
        return _body(await service.commit(reservation_id))

    @router.get("/{reservation_id}")
    async def get(service: Service, reservation_id: str) -> dict[str, Any]:
        return _body(await service.get(reservation_id))

    return router
