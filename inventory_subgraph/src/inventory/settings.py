"""Inventory settings, from the environment."""

from __future__ import annotations

from pydantic import Field

from platform_kit.settings import ServiceSettings

__all__ = ["InventorySettings"]


class InventorySettings(ServiceSettings):
    mongodb_uri: str = Field(default="mongodb://127.0.0.1:27017", alias="INVENTORY_MONGODB_URI")
    default_database: str = "inventory"
    reservation_lease_seconds: float = Field(
        default=10.0, alias="INVENTORY_RESERVATION_LEASE_SECONDS"
    )
    sweep_interval_seconds: float = Field(default=30.0, alias="INVENTORY_SWEEP_INTERVAL_SECONDS")
