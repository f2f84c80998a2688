"""The stock reservation API the order subgraph calls (service role only).
See docs/architecture.md, "Stock reservation API"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from inventory.domain.reservation import ReservationLine, ReservationRecord
from inventory.service_layer.auth import require_service
from inventory.service_layer.reservations import Reservations
from platform_kit.graphql import format_money
from platform_kit.middleware import principal_of

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


def reservations_router() -> APIRouter:
    router = APIRouter(prefix="/internal/reservations", tags=["internal"])

    def service(request: Request) -> Reservations:
        require_service(principal_of(request))
        reservations: Reservations = request.app.state.inventory.reservations
        return reservations

    @router.put("/{reservation_id}")
    async def reserve(
        request: Request, reservation_id: str, body: Annotated[ReserveIn, Body()]
    ) -> dict[str, Any]:
        lines = [ReservationLine(line.product_id, line.quantity) for line in body.lines]
        return _body(await service(request).reserve(reservation_id, lines))

    @router.post("/{reservation_id}/release")
    async def release(request: Request, reservation_id: str) -> dict[str, Any]:
        return _body(await service(request).release(reservation_id))

    @router.post("/{reservation_id}/commit")
    async def commit(request: Request, reservation_id: str) -> dict[str, Any]:
        return _body(await service(request).commit(reservation_id))

    @router.get("/{reservation_id}")
    async def get(request: Request, reservation_id: str) -> dict[str, Any]:
        return _body(await service(request).get(reservation_id))

    return router
