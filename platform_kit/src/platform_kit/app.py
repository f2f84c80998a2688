"""The parts every service's FastAPI app gets: request context, identity, ops routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from platform_kit.health import ReadinessCheck, ops_router
from platform_kit.middleware import AuthMiddleware, RequestContextMiddleware
from platform_kit.tracing import configure_tracing

__all__ = ["install_platform"]


def install_platform(
    app: FastAPI,
    *,
    service: str,
    jwt_secret: Callable[[], str],
    readiness: Callable[[], Mapping[str, ReadinessCheck]],
) -> None:
    """Middleware runs outside-in: the trace (W3C traceparent) first, then request id and
    metrics, so a 401 is counted and logged with its id and trace; then identity."""
    configure_tracing(service)
    app.include_router(ops_router(readiness))
    app.add_middleware(AuthMiddleware, secret=jwt_secret)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.add_middleware(OpenTelemetryMiddleware)
