"""The inventory's reservation API over HTTP, with a short-lived service token.

One httpx.AsyncClient per process (its connection pool), bounded timeouts. Failures become
domain errors here, so the use cases never see HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from orders.adapters.ports import InventoryPort
from orders.domain.errors import InventoryUnavailable
from orders.domain.order import OrderLine, RequestedLine
from platform_kit.auth import SERVICE_TOKEN_TTL_SECONDS, Role, issue_token
from platform_kit.errors import InvalidInput
from platform_kit.request_context import REQUEST_ID_HEADER, current_request_id
from platform_kit.stock import InsufficientStock, Shortage, UnknownProducts

__all__ = ["HttpInventory", "ReservationRejected"]

SERVICE_NAME = "order-subgraph"


class ReservationRejected(InventoryUnavailable):
    """The inventory answered in a way this client does not expect (a bug or a version
    mismatch); treated like an outage so nothing is left half-done."""


class HttpInventory(InventoryPort):
    def __init__(self, client: httpx.AsyncClient, secret: str) -> None:
        self.client = client
        self.secret = secret

    def _headers(self) -> dict[str, str]:
        token = issue_token(
            SERVICE_NAME, Role.SERVICE, self.secret, ttl_seconds=SERVICE_TOKEN_TTL_SECONDS
        )
        headers = {"Authorization": f"Bearer {token}"}
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            response = await self.client.request(method, path, json=body, headers=self._headers())
        except httpx.ConnectError:
            raise InventoryUnavailable(maybe_reserved=False) from None
        except httpx.HTTPError:
            raise InventoryUnavailable() from None
        if response.status_code >= 500:
            raise InventoryUnavailable()
        return response

    async def reserve(self, reservation_id: str, lines: list[RequestedLine]) -> list[OrderLine]:
        body = {
            "lines": [{"product_id": line.product_id, "quantity": line.quantity} for line in lines]
        }
        response = await self._call("PUT", f"/internal/reservations/{reservation_id}", body)
        payload = _json(response)
        if response.status_code == 200:
            return [
                OrderLine(
                    product_id=line["product_id"],
                    name=line["name"],
                    unit_price=Decimal(line["unit_price"]),
                    quantity=line["quantity"],
                    currency=line["currency"],
                )
                for line in payload["lines"]
            ]
        code = payload.get("code")
        if code == "INSUFFICIENT_STOCK":
            raise InsufficientStock([Shortage.from_dict(s) for s in payload.get("shortages", [])])
        if code == "NOT_FOUND":
            raise UnknownProducts(list(payload.get("unknown_products", [])))
        if code == "BAD_USER_INPUT":
            raise InvalidInput("items", str(payload.get("detail", "invalid items")))
        raise ReservationRejected()

    async def release(self, reservation_id: str) -> None:
        response = await self._call("POST", f"/internal/reservations/{reservation_id}/release")
        if response.status_code != 200:
            raise ReservationRejected()

    async def commit(self, reservation_id: str) -> None:
        response = await self._call("POST", f"/internal/reservations/{reservation_id}/commit")
        if response.status_code != 200:
            raise ReservationRejected()

    async def ready(self) -> None:
        response = await self.client.get("/healthz")
        response.raise_for_status()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise ReservationRejected() from None
    if not isinstance(payload, dict):
        raise ReservationRejected()
    return payload
