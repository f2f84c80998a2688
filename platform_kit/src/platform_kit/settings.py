"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses `ServiceSettings` with its own fields and env prefix. Settings are
built in the lifespan or the entrypoint, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_kit.admission import AdmissionLimits

__all__ = [
    "PLACEHOLDER_SECRETS",
    "LogFormat",
    "MissingJwtSecret",
    "ServiceSettings",
    "WeakJwtSecret",
]

# auto: short lines on a terminal, one JSON object a line otherwise (platform_kit.logging).
LogFormat = Literal["auto", "json", "console"]

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "changethis", "password"})
MIN_SECRET_LENGTH = 32


class MissingJwtSecret(RuntimeError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no JWT secret: set AUTH_JWT_SECRET or create {path} "
            "(`make run` writes a random one for development)"
        )


class WeakJwtSecret(ValueError):
    def __init__(self) -> None:
        super().__init__(
            f"AUTH_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters and not a placeholder"
        )


def _check_secret(value: str) -> str:
    if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
        raise WeakJwtSecret()
    return value


class ServiceSettings(BaseSettings):
    """Fields shared by all three services. Environment names are unprefixed on purpose:
    one AUTH_JWT_SECRET, one LOG_LEVEL and one LOG_FORMAT serve the whole stack."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_format: LogFormat = Field(default="auto", alias="LOG_FORMAT")
    auth_jwt_secret: SecretStr | None = Field(default=None, alias="AUTH_JWT_SECRET")
    auth_jwt_secret_file: Path = Field(
        default=Path(".data/jwt-secret"), alias="AUTH_JWT_SECRET_FILE"
    )

    # Capacity (contract): requests in flight at once per process, the share of them one
    # client may hold, what a refused client is told to wait; and how long a request's
    # database work may take (a little under the gateway's 5 s subgraph timeout, which
    # it also sends as X-Request-Timeout-Ms).
    max_in_flight_requests: int = Field(default=256, gt=0, alias="MAX_IN_FLIGHT_REQUESTS")
    max_in_flight_share: float = Field(default=0.5, gt=0, le=1, alias="MAX_IN_FLIGHT_SHARE")
    retry_after_seconds: int = Field(default=1, gt=0, alias="RETRY_AFTER_SECONDS")
    request_timeout_seconds: float = Field(default=4.5, gt=0, alias="REQUEST_TIMEOUT_SECONDS")
    # reads of requests at the database at once per process, shared least-used-client first
    # (platform_kit.database_turns); 0: no turns. Two suit the embedded database, which
    # serves one read at a time anyway; a MongoDB server with cores to spare takes more.
    database_turns: int = Field(default=2, ge=0, le=1024, alias="DATABASE_TURNS")
    # Subscriptions (subgraphs): changes waiting for one subscriber before it is cut off as
    # slow, and subscribers of one change feed in one process
    subscription_queue_size: int = Field(
        default=64, ge=1, le=10_000, alias="SUBSCRIPTION_QUEUE_SIZE"
    )
    max_feed_subscribers: int = Field(default=10_000, ge=1, alias="MAX_FEED_SUBSCRIBERS")
    # operations on one graphql-transport-ws connection (Strawberry's default): a gateway
    # that multiplexes more on one connection has the rest refused
    subscription_max_per_connection: int = Field(
        default=100, ge=1, alias="SUBSCRIPTION_MAX_PER_CONNECTION"
    )

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("auth_jwt_secret")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_secret(value.get_secret_value())
        return value

    def admission_limits(self) -> AdmissionLimits:
        return AdmissionLimits(
            limit=self.max_in_flight_requests,
            share=self.max_in_flight_share,
            retry_after=self.retry_after_seconds,
        )

    def jwt_secret(self) -> str:
        """The environment wins over the file (contract, Identity)."""
        if self.auth_jwt_secret is not None:
            return self.auth_jwt_secret.get_secret_value()
        try:
            return _check_secret(self.auth_jwt_secret_file.read_text().strip())
        except FileNotFoundError:
            raise MissingJwtSecret(self.auth_jwt_secret_file) from None
