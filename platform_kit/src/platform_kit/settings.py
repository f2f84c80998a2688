"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses `ServiceSettings` with its own fields and env prefix. Settings are
built in the lifespan or the entrypoint, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    def jwt_secret(self) -> str:
        """The environment wins over the file (contract, Identity)."""
        if self.auth_jwt_secret is not None:
            return self.auth_jwt_secret.get_secret_value()
        try:
            return _check_secret(self.auth_jwt_secret_file.read_text().strip())
        except FileNotFoundError:
            raise MissingJwtSecret(self.auth_jwt_secret_file) from None
