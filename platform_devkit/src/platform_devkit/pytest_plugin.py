"""Fixtures every suite shares: a real SecantusDB server over the wire, an isolated database
per test, a JWT secret and tokens, and uvicorn processes for the services.

With TEST_MONGODB_URI set, the tests use that server (a real mongod, say) instead.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from platform_devkit.processes import LocalMongo, free_port
from platform_devkit.stack import database_uri
from platform_kit.auth import Role, issue_token

TokenFactory = Callable[..., str]


def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database server's URI: TEST_MONGODB_URI's, else a SecantusDB of its own."""
    configured = os.environ.get("TEST_MONGODB_URI")
    if configured:
        yield configured
        return
    log_path = tmp_path_factory.mktemp("secantus") / "secantusd.log"
    with LocalMongo(free_port(), ":memory:", log_path=log_path) as server:
        yield server.uri


# One server for a worker's session. A module that races many requests against the services'
# deadlines takes a module-scoped server of its own instead
# (`mongo_server_uri = pytest.fixture(scope="module", name="mongo_server_uri")(database_server)`),
# so its timing does not depend on what forty earlier tests left the shared one doing.
mongo_server_uri = pytest.fixture(scope="session", name="mongo_server_uri")(database_server)


@pytest.fixture
def mongo_uri_factory(mongo_server_uri: str) -> Iterator[Callable[[str], str]]:
    """URIs naming fresh databases, dropped after the test, so tests never share state."""
    created: list[str] = []

    def make(prefix: str = "test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        created.append(name)
        return database_uri(mongo_server_uri, name)

    yield make
    client: MongoClient[dict[str, object]] = MongoClient(
        mongo_server_uri, serverSelectionTimeoutMS=2000
    )
    try:
        for name in created:
            client.drop_database(name)
    except Exception:  # noqa: S110 - a dead server was the point of some tests
        pass
    finally:
        client.close()


@pytest.fixture
def mongo_uri(mongo_uri_factory: Callable[[str], str]) -> str:
    return mongo_uri_factory("test")


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def make_token(jwt_secret: str) -> TokenFactory:
    def make(
        sub: str = "alice",
        role: Role | str = Role.CUSTOMER,
        ttl: int = 3600,
        scopes: tuple[str, ...] = (),
    ) -> str:
        return issue_token(sub, role, jwt_secret, ttl_seconds=ttl, scopes=scopes)

    return make


@pytest.fixture(scope="session")
def service_env(jwt_secret: str) -> dict[str, str]:
    """Environment every service process under test gets. The gateway's price and share of
    new documents are measured in time (gateway/federation/preparation.py), which a busy
    test machine stretches: tests that are not about them must not hang on them
    (tests/e2e/test_new_documents.py sets its own)."""
    return {
        "AUTH_JWT_SECRET": jwt_secret,
        "LOG_LEVEL": "INFO",
        "GATEWAY_PREPARATION_POINTS_PER_MS": "0",
        "GATEWAY_PREPARATION_SHARE": "1",
        # a share of all the time still leaves a debt after one long document (a burst holds
        # at most this much): a deep one
        "GATEWAY_PREPARATION_BURST_SECONDS": "60",
    }


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
