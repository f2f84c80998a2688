"""The gateway's own metrics: per-subgraph fetch latency and errors, supergraph reloads."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from platform_kit.metrics import LATENCY_BUCKETS

__all__ = [
    "SUBGRAPH_ERRORS",
    "SUBGRAPH_FETCH_SECONDS",
    "SUBSCRIPTION_EVENT_SECONDS",
    "SUPERGRAPH_RELOADS",
]

SUBGRAPH_FETCH_SECONDS = Histogram(
    "gateway_subgraph_fetch_duration_seconds",
    "Latency of requests to subgraphs",
    ["subgraph"],
    buckets=LATENCY_BUCKETS,
)
SUBGRAPH_ERRORS = Counter(
    "gateway_subgraph_errors_total", "Failed or erroring subgraph requests", ["subgraph", "kind"]
)
SUPERGRAPH_RELOADS = Counter(
    "gateway_supergraph_reloads_total",
    "New supergraph contents seen, by outcome: applied (now served), rejected (does not build; "
    "the previous one is still served), unreadable (the file could not be read)",
    ["outcome"],
)
SUBSCRIPTION_EVENT_SECONDS = Histogram(
    "gateway_subscription_event_duration_seconds",
    "From a subscription event's arrival from its subgraph to its answer (the rest of the "
    "plan: entity fetches to other subgraphs, shaping)",
    buckets=LATENCY_BUCKETS,
)
