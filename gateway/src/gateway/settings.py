"""Gateway settings, from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from gateway.federation.limits import OperationLimits
from gateway.federation.pipeline import CacheLimits
from platform_kit.settings import ServiceSettings

__all__ = ["GatewaySettings"]

_LIMITS = OperationLimits()
_CACHE = CacheLimits()

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
    max_cost: int = Field(default=_LIMITS.max_cost, gt=0, alias="GATEWAY_MAX_COST")
    cache_max_bytes: int = Field(default=_CACHE.max_bytes, ge=0, alias="GATEWAY_CACHE_MAX_BYTES")

    # Progressive @override labels forced on or off for every request, comma-separated
    # (`percent(N)` labels are otherwise drawn per request; any other label is off).
    override_labels_on: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="GATEWAY_OVERRIDE_LABELS_ON"
    )
    override_labels_off: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="GATEWAY_OVERRIDE_LABELS_OFF"
    )

    @field_validator("override_labels_on", "override_labels_off", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(label.strip() for label in value.split(",") if label.strip())
        return value

    def subgraph_url(self, name: str, default: str) -> str:
        """SUBGRAPH_URL_<NAME> overrides the URL composed into the supergraph."""
        return os.environ.get(f"SUBGRAPH_URL_{name.upper()}", default)
