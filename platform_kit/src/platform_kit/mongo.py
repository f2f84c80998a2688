"""One `AsyncMongoClient` per process, with bounded timeouts so a dead database fails fast;
its commands timed for /metrics; the failures that mean "the database is away".

Needs the kit's `mongo` extra (PyMongo): only the subgraphs install it."""

from __future__ import annotations

from typing import Any

from prometheus_client import Histogram
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from pymongo.uri_parser import parse_uri

from platform_kit.metrics import LATENCY_BUCKETS

__all__ = [
    "DATABASE_UNAVAILABLE",
    "MONGO_COMMAND_SECONDS",
    "MongoCommandTimer",
    "create_mongo_client",
    "database_name",
    "ping",
]

SERVER_SELECTION_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_MS = 2000
SOCKET_TIMEOUT_MS = 10000

# An outage, not a bug: a 503 SERVICE_UNAVAILABLE, and a reason for background upkeep to
# wait and try again.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionFailure,
    ExecutionTimeout,
    WTimeoutError,
)

MONGO_COMMAND_SECONDS = Histogram(
    "mongodb_command_duration_seconds",
    "MongoDB command latency",
    ["command", "outcome"],
    buckets=LATENCY_BUCKETS,
)


class MongoCommandTimer(monitoring.CommandListener):
    """Times every database command through PyMongo's command monitoring."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        MONGO_COMMAND_SECONDS.labels(event.command_name, "ok").observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        MONGO_COMMAND_SECONDS.labels(event.command_name, "error").observe(
            event.duration_micros / 1e6
        )


def create_mongo_client(uri: str, *, app_name: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        connectTimeoutMS=CONNECT_TIMEOUT_MS,
        socketTimeoutMS=SOCKET_TIMEOUT_MS,
        event_listeners=[MongoCommandTimer()],
    )


def database_name(uri: str, default: str) -> str:
    """The database the URI names, else the service's default (contract, Database)."""
    return parse_uri(uri).get("database") or default


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> None:
    await client.admin.command("ping")
