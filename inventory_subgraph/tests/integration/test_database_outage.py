"""With the database gone the service says so (readyz 503, SERVICE_UNAVAILABLE) instead of
hanging, and it recovers by itself when the database comes back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from platform_devkit.processes import LocalMongo, free_port

from .conftest import start_inventory

PRODUCTS = "{ products { total } }"
# Bounded: the client's own timeout turns a hang into a failure of this test.
CLIENT_TIMEOUT = 15.0


def _ready(base_url: str) -> int:
    return httpx.get(base_url + "/readyz", timeout=CLIENT_TIMEOUT).status_code


def _wait_for_ready(base_url: str, attempts: int = 100) -> bool:
    for _ in range(attempts):
        if _ready(base_url) == 200:
            return True
        time.sleep(0.2)
    return False


def test_the_service_reports_the_outage_and_recovers_without_restart(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    port = free_port()
    storage = tmp_path / "db"
    storage.mkdir()
    database = LocalMongo(port, str(storage), log_path=tmp_path / "db.log").start()
    service = start_inventory(f"{database.uri}/inventory", service_env, tmp_path / "inv.log")
    try:
        assert _wait_for_ready(service.base_url)
        database.stop()

        assert _ready(service.base_url) == 503
        response = httpx.post(
            service.base_url + "/graphql", json={"query": PRODUCTS}, timeout=CLIENT_TIMEOUT
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert httpx.get(service.base_url + "/healthz").status_code == 200

        database = LocalMongo(port, str(storage), log_path=tmp_path / "db2.log").start()
        assert _wait_for_ready(service.base_url)
        response = httpx.post(
            service.base_url + "/graphql", json={"query": PRODUCTS}, timeout=CLIENT_TIMEOUT
        )
        assert response.json() == {"data": {"products": {"total": 0}}}
    finally:
        service.stop()
        database.stop()
