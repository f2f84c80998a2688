"""Prometheus metrics every service exposes at /metrics."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "LATENCY_BUCKETS",
    "render_metrics",
]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)


def render_metrics() -> bytes:
    """This process's metrics; with several uvicorn workers (WEB_CONCURRENCY > 1) each worker
    writes its own into PROMETHEUS_MULTIPROC_DIR, and any worker answers with the sum."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
