"""The parts every service's FastAPI app gets: request context, identity, ops routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.types import ASGIApp

from platform_kit.admission import AdmissionControl, AdmissionLimits
from platform_kit.body_limits import MAX_BODY_BYTES, RequestLimits
from platform_kit.disconnect import CancelOnDisconnect
from platform_kit.health import ReadinessCheck, ops_router
from platform_kit.middleware import AuthMiddleware, RequestContextMiddleware
from platform_kit.tracing import TraceContextMiddleware, configure_tracing

__all__ = ["FASTAPI_TELEMETRY", "install_platform"]

# FastAPI's own OpenTelemetry instrumentation is off: install_platform traces (OpenTelemetry's
# ASGI middleware when spans are exported, the bare trace context otherwise) and counts
# requests (Prometheus) already; FastAPI's would do both again on every request, and took
# about a tenth of the gateway's CPU for a one-subgraph query.
FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def install_platform(
    app: FastAPI,
    *,
    service: str,
    jwt_secret: Callable[[], str],
    readiness: Callable[[], Mapping[str, ReadinessCheck]],
    max_body_bytes: int = MAX_BODY_BYTES,
    admission: AdmissionLimits | None = None,
    before_body: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
) -> None:
    """Middleware runs outside-in: the trace (W3C traceparent) first, then request id and
    metrics, so a 401 is counted and logged with its id and trace; then identity; then
    admission (a client is known by then); then the request's own task, cancelled if its
    client leaves; then `before_body` (checks that refuse a request from its headers alone,
    such as the gateway's CSRF prevention); then the body's limits (JSON, size, well-formed),
    so an anonymous caller learns nothing more. Middleware the app added before this call runs
    inside all of it. Spans are recorded only when they are exported; otherwise only the
    context is carried."""
    exporting = configure_tracing(service)
    app.include_router(ops_router(readiness))
    app.add_middleware(RequestLimits, max_bytes=max_body_bytes)
    for middleware in reversed(before_body):  # each added is outside the ones before it
        app.add_middleware(middleware)
    app.add_middleware(CancelOnDisconnect, service=service)
    app.add_middleware(
        AdmissionControl, service=service, limits=admission or AdmissionLimits(), secret=jwt_secret
    )
    app.add_middleware(AuthMiddleware, secret=jwt_secret)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.add_middleware(OpenTelemetryMiddleware if exporting else TraceContextMiddleware)
