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

    def subgraph_url(self, name: str, default: str) -> str:
        """SUBGRAPH_URL_<NAME> overrides the URL composed into the supergraph."""
        return os.environ.get(f"SUBGRAPH_URL_{name.upper()}", default)
