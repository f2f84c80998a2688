"""Admission control: a service does a bounded amount of work at once, shared fairly between
clients, and answers at once when it is full (503 with `Retry-After`) instead of queueing
without bound (contract, Capacity).

Every request holds one slot while it runs. A client may hold at most `per_client` slots,
and the more it already holds, the more room it must leave to others: a client holding `h`
slots gets another only while more than `h * (limit - per_client) / per_client` slots are
free. A client's first request therefore always finds the room that the busiest clients must
leave, and one client alone can still use its whole share. The ops routes (/healthz, /readyz,
/metrics) are never refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from platform_kit.clients import Client, client_key, current_client
from platform_kit.problems import problem_response

__all__ = [
    "ADMISSION_ADMITTED",
    "ADMISSION_IN_FLIGHT",
    "ADMISSION_REJECTED",
    "RELEASE_SLOT",
    "AdmissionControl",
    "AdmissionLimits",
    "InFlightSlots",
]

# in scope["state"]: gives the request's slot back early. A stream (a subscription over SSE)
# calls it once it is set up: its long life is bounded by the subscription limits instead,
# and would otherwise hold a slot that requests need.
RELEASE_SLOT = "admission.release"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
GRAPHQL_PATH = "/graphql"
AT_CAPACITY = "the service is at capacity: try again shortly"

ADMISSION_ADMITTED = Counter(
    "admission_admitted_total", "Requests admitted by admission control", ["service"]
)
ADMISSION_REJECTED = Counter(
    "admission_rejected_total", "Requests refused (503) by admission control", ["service"]
)
ADMISSION_IN_FLIGHT = Gauge(
    "admission_in_flight",
    "Requests holding a slot of admission control",
    ["service"],
    multiprocess_mode="livesum",
)


@dataclass(frozen=True)
class AdmissionLimits:
    """`limit` requests at once in one process; a client at most `share` of them (at least
    one); `retry_after` seconds is what a refused client is told to wait."""

    limit: int = 256
    share: float = 0.5
    retry_after: int = 1

    @property
    def per_client(self) -> int:
        return max(1, int(self.limit * self.share))


@dataclass
class InFlightSlots:
    limits: AdmissionLimits
    held: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def try_take(self, client: str) -> bool:
        limits = self.limits
        holding = self.held.get(client, 0)
        if holding >= limits.per_client:
            return False
        room_left_to_others = holding * (limits.limit - limits.per_client) / limits.per_client
        if limits.limit - self.total <= room_left_to_others:
            return False
        self.held[client] = holding + 1
        self.total += 1
        return True

    def give_back(self, client: str) -> None:
        holding = self.held[client] - 1
        if holding:
            self.held[client] = holding
        else:
            del self.held[client]
        self.total -= 1


class AdmissionControl:
    """The slots of one process. Runs after identity (a client is its `sub` when it has
    one) and names the client to the services this request calls."""

    def __init__(
        self, app: ASGIApp, *, service: str, limits: AdmissionLimits, secret: Callable[[], str]
    ) -> None:
        self.app = app
        self.service = service
        self.limits = limits
        self.slots = InFlightSlots(limits)
        self.secret = secret
        self.admitted = ADMISSION_ADMITTED.labels(service)
        self.rejected = ADMISSION_REJECTED.labels(service)
        self.in_flight = ADMISSION_IN_FLIGHT.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        secret = self.secret()
        client = client_key(scope, secret)
        if not self.slots.try_take(client):
            self.rejected.inc()
            await self._refuse(scope, receive, send)
            return
        self.admitted.inc()
        self.in_flight.inc()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.slots.give_back(client)
                self.in_flight.dec()

        scope.setdefault("state", {})[RELEASE_SLOT] = release
        token = current_client.set(Client(client, secret))
        try:
            await self.app(scope, receive, send)
        finally:
            current_client.reset(token)
            release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {"Retry-After": str(self.limits.retry_after)}
        if scope["path"] == GRAPHQL_PATH:
            error = {"message": AT_CAPACITY, "extensions": {"code": "SERVICE_UNAVAILABLE"}}
            response = JSONResponse({"errors": [error]}, status_code=503, headers=headers)
        else:
            response = problem_response(
                503, AT_CAPACITY, code="SERVICE_UNAVAILABLE", headers=headers
            )
        await response(scope, receive, send)
