"""Gateway settings, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from platform_kit.settings import ServiceSettings

__all__ = ["GatewaySettings"]

DEFAULT_SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"


class GatewaySettings(ServiceSettings):
    supergraph_path: Path = Field(default=DEFAULT_SUPERGRAPH, alias="SUPERGRAPH_PATH")
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
    max_tokens: int = Field(default=10_000, gt=0, alias="GATEWAY_MAX_TOKENS")
    max_depth: int = Field(default=25, gt=0, alias="GATEWAY_MAX_DEPTH")
    max_aliases: int = Field(default=30, ge=0, alias="GATEWAY_MAX_ALIASES")
    max_root_fields: int = Field(default=30, gt=0, alias="GATEWAY_MAX_ROOT_FIELDS")
    max_fields: int = Field(default=2_000, gt=0, alias="GATEWAY_MAX_FIELDS")
    max_cost: int = Field(default=10_000, gt=0, alias="GATEWAY_MAX_COST")
    cache_max_bytes: int = Field(default=4 * 1024 * 1024, ge=0, alias="GATEWAY_CACHE_MAX_BYTES")

    def subgraph_url(self, name: str, default: str) -> str:
        """SUBGRAPH_URL_<NAME> overrides the URL composed into the supergraph."""
        return os.environ.get(f"SUBGRAPH_URL_{name.upper()}", default)
