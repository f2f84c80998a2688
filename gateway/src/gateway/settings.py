"""Gateway settings, from the environment."""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from gateway.entrypoints.subscriptions import SubscriptionLimits
from gateway.entrypoints.trusted_documents import TrustedMode
from gateway.federation.budget import BudgetLimits
from gateway.federation.limits import OperationLimits
from gateway.federation.preparation import PreparationLimits
from gateway.federation.prepared_cache import CacheLimits
from platform_kit.settings import ServiceSettings

__all__ = ["GatewaySettings"]

_LIMITS = OperationLimits()
_CACHE = CacheLimits()
_BUDGET = BudgetLimits()
_PREPARATION = PreparationLimits()
_SUBSCRIPTIONS = SubscriptionLimits()

DEFAULT_SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"


class GatewaySettings(ServiceSettings):
    supergraph_path: Path = Field(default=DEFAULT_SUPERGRAPH, alias="SUPERGRAPH_PATH")
    # The file is read again every `supergraph_poll_seconds` and a new content is served
    # without a restart (SIGHUP reads it at once, polled or not). On by default, as in Hive
    # Gateway: the file only changes when someone means it to (`make supergraph`, a new
    # ConfigMap), and a content that does not build changes nothing.
    supergraph_watch: bool = Field(default=True, alias="GATEWAY_SUPERGRAPH_WATCH")
    supergraph_poll_seconds: float = Field(
        default=2.0, gt=0, alias="GATEWAY_SUPERGRAPH_POLL_SECONDS"
    )
    # A supergraph is some kilobytes (ours: ~10 KB); a path naming more is refused unread
    supergraph_max_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, alias="GATEWAY_SUPERGRAPH_MAX_BYTES"
    )
    # Persisted operations (entrypoints/persisted_queries.py): automatic persisted queries kept
    # in at most `apq_max_bytes` (least recently used out first), and trusted documents: a
    # manifest in Apollo's persisted-query-manifest format (`make pq-manifest` writes this
    # repository's), polled like the supergraph; mode off, log_unknown or strict.
    apq_enabled: bool = Field(default=True, alias="GATEWAY_APQ_ENABLED")
    apq_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0, alias="GATEWAY_APQ_MAX_BYTES")
    trusted_documents_path: Path | None = Field(default=None, alias="GATEWAY_TRUSTED_DOCUMENTS")
    trusted_documents_mode: TrustedMode = Field(
        default=TrustedMode.OFF, alias="GATEWAY_TRUSTED_DOCUMENTS_MODE"
    )
    trusted_documents_max_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, alias="GATEWAY_TRUSTED_DOCUMENTS_MAX_BYTES"
    )
    subgraph_timeout_seconds: float = Field(
        default=5.0, gt=0, alias="GATEWAY_SUBGRAPH_TIMEOUT_SECONDS"
    )

    # Identical subgraph queries in flight for the same identity are sent once.
    deduplicate_subgraph_requests: bool = Field(
        default=True, alias="GATEWAY_DEDUPLICATE_SUBGRAPH_REQUESTS"
    )
    # Identical client queries in flight (same document, operation, variables and
    # Authorization) are executed once and all get the answer. Off by default, as in Hive
    # Gateway: it trades a little freshness between concurrent callers for throughput.
    deduplicate_inbound_requests: bool = Field(
        default=False, alias="GATEWAY_DEDUPLICATE_INBOUND_REQUESTS"
    )

    # Operation limits (a 400 naming the limit beyond them) and the prepared-operation cache.
    # (the defaults are the limits' own, defined once in OperationLimits and CacheLimits)
    max_tokens: int = Field(default=_LIMITS.max_tokens, gt=0, alias="GATEWAY_MAX_TOKENS")
    max_depth: int = Field(default=_LIMITS.max_depth, gt=0, alias="GATEWAY_MAX_DEPTH")
    max_aliases: int = Field(default=_LIMITS.max_aliases, ge=0, alias="GATEWAY_MAX_ALIASES")
    max_root_fields: int = Field(
        default=_LIMITS.max_root_fields, gt=0, alias="GATEWAY_MAX_ROOT_FIELDS"
    )
    max_fields: int = Field(default=_LIMITS.max_fields, gt=0, alias="GATEWAY_MAX_FIELDS")
    max_selection_fields: int = Field(
        default=_LIMITS.max_selection_fields, gt=0, alias="GATEWAY_MAX_SELECTION_FIELDS"
    )
    max_cost: int = Field(default=_LIMITS.max_cost, gt=0, alias="GATEWAY_MAX_COST")
    # Every GraphQL answer carries `extensions.cost` (the contract). Off only for a client
    # that compares whole answers with expected ones (the federation benchmark's checker);
    # budgets and limits apply all the same, and a 429 still says what the budget holds.
    cost_in_answers: bool = Field(default=True, alias="GATEWAY_COST_IN_ANSWERS")
    # the memory the prepared operations may hold, as estimated (federation/prepared_cache.py)
    cache_max_bytes: int = Field(default=_CACHE.max_bytes, ge=0, alias="GATEWAY_CACHE_MAX_BYTES")

    # Each client's budget of query cost (a leaky bucket: federation/budget.py): at most
    # `budget_maximum` points, `budget_restore_rate` restored a second; an operation takes
    # its cost up front or is refused with 429. Clients are keyed by token `sub`, else by
    # address; at most `budget_max_clients` buckets are kept (least recently seen forgotten).
    budget_maximum: int = Field(
        default=_BUDGET.maximum_available, gt=0, alias="GATEWAY_BUDGET_MAXIMUM"
    )
    budget_restore_rate: float = Field(
        default=_BUDGET.restore_rate, gt=0, alias="GATEWAY_BUDGET_RESTORE_RATE"
    )
    budget_max_clients: int = Field(
        default=_BUDGET.max_clients, gt=0, alias="GATEWAY_BUDGET_MAX_CLIENTS"
    )
    # a 429 (or a 503 for want of the gateway's time) is answered after at most this long
    budget_hold_refusals: float = Field(
        default=_BUDGET.hold_refusals, ge=0, alias="GATEWAY_BUDGET_HOLD_REFUSALS_SECONDS"
    )
    # A document the gateway has not seen is paid for by its client (federation/
    # preparation.py): `preparation_points_per_ms` budget points a ms it took to
    # prepare; all clients' new documents together take at most `preparation_share` of
    # the event loop's time (burst: `preparation_burst_seconds`), beyond it 503 +
    # Retry-After.
    preparation_points_per_ms: float = Field(
        default=_PREPARATION.points_per_ms, ge=0, alias="GATEWAY_PREPARATION_POINTS_PER_MS"
    )
    preparation_share: float = Field(
        default=_PREPARATION.share, gt=0, alias="GATEWAY_PREPARATION_SHARE"
    )
    preparation_burst_seconds: float = Field(
        default=_PREPARATION.burst, gt=0, alias="GATEWAY_PREPARATION_BURST_SECONDS"
    )
    # how long the preparing thread may keep the interpreter once the event loop asks for
    # it back (sys.setswitchinterval; Python's default is 5 ms)
    preparation_switch_interval_ms: float = Field(
        default=_PREPARATION.switch_interval * 1000,
        gt=0,
        le=100,
        alias="GATEWAY_PREPARATION_SWITCH_INTERVAL_MS",
    )
    # Peers whose X-Forwarded-For names the client (comma-separated addresses or networks,
    # e.g. "10.0.0.0/8"); from any other peer the header is ignored.
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = Field(
        default=(), alias="GATEWAY_TRUSTED_PROXIES"
    )

    # Subscriptions (WebSocket at /graphql, SSE): bounds, keep-alive, the queue of answers
    # waiting for one subscriber (a client that lets it fill is cut off)
    subscription_max_connections: int = Field(
        default=_SUBSCRIPTIONS.max_connections, gt=0, alias="GATEWAY_SUBSCRIPTION_MAX_CONNECTIONS"
    )
    subscription_max_per_connection: int = Field(
        default=_SUBSCRIPTIONS.max_per_connection,
        gt=0,
        alias="GATEWAY_SUBSCRIPTION_MAX_PER_CONNECTION",
    )
    subscription_max_per_client: int = Field(
        default=_SUBSCRIPTIONS.max_per_client, gt=0, alias="GATEWAY_SUBSCRIPTION_MAX_PER_CLIENT"
    )
    subscription_keep_alive_seconds: float = Field(
        default=_SUBSCRIPTIONS.keep_alive_seconds,
        gt=0,
        alias="GATEWAY_SUBSCRIPTION_KEEP_ALIVE_SECONDS",
    )
    subscription_queue_size: int = Field(
        default=_SUBSCRIPTIONS.queue_size, gt=0, le=10_000, alias="GATEWAY_SUBSCRIPTION_QUEUE_SIZE"
    )
    # A subscription whose subgraph went away (a restart) is opened again from its last
    # event's position for this long, clients hearing nothing meanwhile and missing
    # nothing after; then it ends with SERVICE_UNAVAILABLE
    subscription_resume_seconds: float = Field(
        default=30.0, ge=0, le=600, alias="GATEWAY_SUBSCRIPTION_RESUME_SECONDS"
    )
    # Root Subscription fields (comma-separated names) whose events are the same for every
    # caller, e.g. a public catalog's: one stream, opened anonymously, serves all their
    # subscribers. Any other field is shared only by callers with the very same token.
    subscription_shared_fields: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="GATEWAY_SUBSCRIPTION_SHARED_FIELDS"
    )

    # Progressive @override labels forced on or off for every request, comma-separated
    # (`percent(N)` labels are otherwise drawn per request; any other label is off).
    override_labels_on: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="GATEWAY_OVERRIDE_LABELS_ON"
    )
    override_labels_off: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="GATEWAY_OVERRIDE_LABELS_OFF"
    )

    @field_validator(
        "override_labels_on", "override_labels_off", "subscription_shared_fields", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(label.strip() for label in value.split(",") if label.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(ip_network(n.strip(), strict=False) for n in value.split(",") if n.strip())
        return value

    @model_validator(mode="after")
    def _one_operation_fits_a_budget(self) -> Self:
        if self.max_cost > self.budget_maximum:
            raise ValueError(
                "GATEWAY_MAX_COST must not exceed GATEWAY_BUDGET_MAXIMUM: an operation costing "
                "more than a full budget could never run"
            )
        return self

    @model_validator(mode="after")
    def _trusted_documents_named(self) -> Self:
        if self.trusted_documents_mode is not TrustedMode.OFF and not self.trusted_documents_path:
            raise ValueError(
                "GATEWAY_TRUSTED_DOCUMENTS_MODE is not off: name the manifest in "
                "GATEWAY_TRUSTED_DOCUMENTS (`make pq-manifest` writes "
                "gateway/persisted-queries.json)"
            )
        return self

    def subgraph_url(self, name: str, default: str) -> str:
        """SUBGRAPH_URL_<NAME> overrides the URL composed into the supergraph."""
        return os.environ.get(f"SUBGRAPH_URL_{name.upper()}", default)

    def subscription_limits(self) -> SubscriptionLimits:
        return SubscriptionLimits(
            max_connections=self.subscription_max_connections,
            max_per_connection=self.subscription_max_per_connection,
            max_per_client=self.subscription_max_per_client,
            keep_alive_seconds=self.subscription_keep_alive_seconds,
            queue_size=self.subscription_queue_size,
            shared_fields=self.subscription_shared_fields,
        )
