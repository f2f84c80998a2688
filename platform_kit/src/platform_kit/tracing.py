"""OpenTelemetry tracing: W3C `traceparent` taken from every incoming request and passed on
with every outgoing httpx call, so one client request is one trace across the services.

Spans are exported only when asked for by environment: OTEL_TRACES_EXPORTER=otlp (or an
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) sends them over OTLP/HTTP;
OTEL_TRACES_EXPORTER=console prints them. Otherwise the context still propagates."""

from __future__ import annotations

import os
import threading

from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

__all__ = ["configure_tracing", "current_trace_id"]

_lock = threading.Lock()
_configured = False
_UNTRACED_PATHS = "healthz,readyz,metrics"


def _exporter_wanted() -> str | None:
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen in ("otlp", "console"):
        return chosen
    if chosen == "none":
        return None
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        return "otlp"
    return None


def configure_tracing(service: str) -> None:
    """Once per process: the tracer provider, the exporter if any, httpx propagation."""
    global _configured
    with _lock:
        if _configured:
            return
        os.environ.setdefault("OTEL_PYTHON_ASGI_EXCLUDED_URLS", _UNTRACED_PATHS)
        exporter = _exporter_wanted()
        # With nowhere to export to, spans are not recorded (cheap), yet every span still
        # carries the caller's trace id, so `traceparent` and the logs' trace_id go on.
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}
            ),
            sampler=ParentBased(ALWAYS_ON) if exporter else ALWAYS_OFF,
        )
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif exporter == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
        HTTPXClientInstrumentor().instrument()
        _configured = True


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
