"""Order subgraph settings, from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from platform_kit.settings import ServiceSettings

__all__ = ["OrderSettings"]


class OrderSettings(ServiceSettings):
    mongodb_uri: str = Field(default="mongodb://127.0.0.1:27017", alias="ORDERS_MONGODB_URI")
    default_database: str = "orders"
    inventory_url: str = Field(default="http://127.0.0.1:8001", alias="INVENTORY_URL")
    inventory_timeout_seconds: float = Field(default=3.0, gt=0, alias="INVENTORY_TIMEOUT_SECONDS")
    # open (reserving or pending) orders one caller may hold: one account cannot hoard stock
    max_open_orders: int = Field(default=20, ge=1, le=1000, alias="ORDERS_MAX_OPEN_ORDERS")
    reconcile_interval_seconds: float = Field(
        default=30.0, gt=0, alias="ORDERS_RECONCILE_INTERVAL_SECONDS"
    )
    reconcile_grace_seconds: float = Field(
        default=30.0, ge=0, alias="ORDERS_RECONCILE_GRACE_SECONDS"
    )
    # Tests only: die (os._exit) at this point of a use case, to prove crash recovery.
    fault_crash_at: Literal["after_reserve", "after_cancel_mark"] | None = Field(
        default=None, alias="ORDERS_FAULT_CRASH_AT"
    )
