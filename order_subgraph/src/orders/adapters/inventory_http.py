"""The inventory's reservation API over HTTP, with a short-lived service token.

One aiohttp session per process (its connection pool), bounded timeouts. aiohttp rather than
httpx, as the gateway's transport and by measurement: in a flash sale of 100 concurrent
orders, httpx took about half of this service's CPU. Failures become domain errors here, so
the use cases never see HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp
from opentelemetry import propagate

from orders.adapters.ports import InventoryPort
from orders.domain.errors import InventoryUnavailable
from orders.domain.order import OrderLine, RequestedLine
from platform_kit.auth import SERVICE_TOKEN_TTL_SECONDS, Role, issue_token
from platform_kit.errors import InvalidInput
from platform_kit.request_context import REQUEST_ID_HEADER, current_request_id
from platform_kit.stock import InsufficientStock, Shortage, UnknownProducts

__all__ = ["HttpInventory", "ReservationRejected"]

SERVICE_NAME = "order-subgraph"
# below uvicorn's 5 s keep-alive, so a connection is never reused as the inventory closes it
KEEPALIVE_SECONDS = 4.0


class ReservationRejected(InventoryUnavailable):
    """The inventory answered in a way this client does not expect (a bug or a version
    mismatch); treated like an outage so nothing is left half-done."""


class HttpInventory(InventoryPort):
    def __init__(self, base_url: str, secret: str, *, timeout: float, pool_size: int = 100) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 1.0))
        self.pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # made on first use, inside the running loop (aiohttp binds a session to its loop)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.pool_size, keepalive_timeout=KEEPALIVE_SECONDS
                ),
                timeout=self.timeout,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self) -> dict[str, str]:
        token = issue_token(
            SERVICE_NAME, Role.SERVICE, self.secret, ttl_seconds=SERVICE_TOKEN_TTL_SECONDS
        )
        headers = {"Authorization": f"Bearer {token}"}
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        propagate.inject(headers)  # W3C traceparent: one trace across the services
        return headers

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        try:
            async with self._client().request(
                method, self.base_url + path, json=body, headers=self._headers()
            ) as response:
                status, content = response.status, await response.read()
        except aiohttp.ClientConnectorError:  # no connection: the request never left
            raise InventoryUnavailable(maybe_reserved=False) from None
        except (aiohttp.ClientError, TimeoutError):
            raise InventoryUnavailable() from None
        if status >= 500:
            raise InventoryUnavailable()
        return status, content

    async def reserve(self, reservation_id: str, lines: list[RequestedLine]) -> list[OrderLine]:
        body = {
            "lines": [{"product_id": line.product_id, "quantity": line.quantity} for line in lines]
        }
        status, content = await self._call("PUT", f"/internal/reservations/{reservation_id}", body)
        payload = _json(content)
        if status == 200:
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
        status, _ = await self._call("POST", f"/internal/reservations/{reservation_id}/release")
        if status != 200:
            raise ReservationRejected()

    async def commit(self, reservation_id: str) -> None:
        status, _ = await self._call("POST", f"/internal/reservations/{reservation_id}/commit")
        if status != 200:
            raise ReservationRejected()

    async def ready(self) -> None:
        status, _ = await self._call("GET", "/healthz")
        if status != 200:
            raise InventoryUnavailable()


def _json(content: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(content)
    except ValueError:
        raise ReservationRejected() from None
    if not isinstance(payload, dict):
        raise ReservationRejected()
    return payload
