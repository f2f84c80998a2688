"""One `AsyncMongoClient` per process, with bounded timeouts so a dead database fails fast;
its commands timed for /metrics; the failures that mean "the database is away".

Needs the kit's `mongo` extra (PyMongo): only the subgraphs install it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from bson import Decimal128
from prometheus_client import Histogram
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from pymongo.uri_parser import parse_uri

from platform_kit.metrics import LATENCY_BUCKETS

__all__ = [
    "DATABASE_UNAVAILABLE",
    "MONGO_COMMAND_SECONDS",
    "MongoCommandTimer",
    "ServiceDatabase",
    "create_mongo_client",
    "database_name",
    "from_document",
    "to_document",
]

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Document = dict[str, Any]
D = TypeVar("D", bound="DataclassInstance")

SERVER_SELECTION_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_MS = 2000
SOCKET_TIMEOUT_MS = 10000
# Every operation has a time bound (contract, Capacity). A request's operations are bounded
# tighter, by its deadline (platform_kit.deadline); this bounds the rest (upkeep, indexes).
OPERATION_TIMEOUT_MS = 30000

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


def create_mongo_client(uri: str, *, app_name: str) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        connectTimeoutMS=CONNECT_TIMEOUT_MS,
        socketTimeoutMS=SOCKET_TIMEOUT_MS,
        timeoutMS=OPERATION_TIMEOUT_MS,
        event_listeners=[MongoCommandTimer()],
    )


def database_name(uri: str, default: str) -> str:
    """The database the URI names, else the service's default (contract, Database)."""
    return parse_uri(uri).get("database") or default


@dataclass(frozen=True)
class ServiceDatabase:
    """A service's own database on the process's one client: the one its URI names, else
    the service's default."""

    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]

    @classmethod
    def connect(cls, uri: str, *, default: str, app_name: str) -> ServiceDatabase:
        client = create_mongo_client(uri, app_name=app_name)
        return cls(client, client[database_name(uri, default)])

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def close(self) -> None:
        await self.client.close()


def to_document(value: DataclassInstance) -> Document:
    """A plain value object as stored: its fields by name, money as Decimal128."""
    return {field.name: _stored(getattr(value, field.name)) for field in dataclasses.fields(value)}


def from_document(kind: type[D], document: Mapping[str, Any]) -> D:
    """The value object `to_document` stored (other keys of the document are left)."""
    return kind(**{field.name: _loaded(document[field.name]) for field in dataclasses.fields(kind)})


def _stored(value: Any) -> Any:
    return Decimal128(value) if isinstance(value, Decimal) else value


def _loaded(value: Any) -> Any:
    return value.to_decimal() if isinstance(value, Decimal128) else value
