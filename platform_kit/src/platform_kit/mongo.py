"""One `AsyncMongoClient` per process, with bounded timeouts so a dead database fails fast."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

from platform_kit.metrics import MongoCommandTimer

__all__ = ["create_mongo_client", "database_name", "ping"]

SERVER_SELECTION_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_MS = 2000
SOCKET_TIMEOUT_MS = 10000


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
