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

    def subgraph_url(self, name: str, default: str) -> str:
        """SUBGRAPH_URL_<NAME> overrides the URL composed into the supergraph."""
        return os.environ.get(f"SUBGRAPH_URL_{name.upper()}", default)
