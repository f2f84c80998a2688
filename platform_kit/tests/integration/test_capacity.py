"""Capacity, in a real uvicorn process: a request whose client leaves is cancelled, and a
service at its limit refuses at once (503, Retry-After) the clients that hold the most
while it still admits others."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

HERE = Path(__file__).resolve().parent
WAIT_SECONDS = 20  # how long the tests wait for an event before calling it missing


def _start(service_env: dict[str, str], log_path: Path, **settings: str) -> ServiceProcess:
    env = {
        **service_env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        **settings,
    }
    return ServiceProcess(
        "holding", "holding_app:create_app", free_port(), env=env, log_path=log_path
    ).start()


@pytest.fixture
def service(service_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    process = _start(
        service_env, tmp_path / "holding.log", MAX_IN_FLIGHT_REQUESTS="2", MAX_IN_FLIGHT_SHARE="0.5"
    )
    yield process
    process.stop()


def _client(address: str) -> httpx.Client:
    """A client from its own loopback address: a distinct anonymous client."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _metric(service: ServiceProcess, name: str) -> float:
    text = httpx.get(service.base_url + "/metrics", timeout=5).text
    found = re.search(rf'^{name}\{{service="holding"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the awaited event never happened"
        time.sleep(0.05)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_client_that_leaves_cancels_its_request(service: ServiceProcess, method: str) -> None:
    with _client("127.0.0.1") as client, pytest.raises(httpx.ReadTimeout):
        client.request(method, service.base_url + "/hold", json={"a": 1}, timeout=0.5)

    _wait_until(lambda: _metric(service, "http_requests_abandoned_total") == 1)
    handlers = httpx.get(service.base_url + "/handlers").json()
    assert handlers == {"holding": 0, "cancelled": 1}
    assert "client left: request cancelled" in service.log_tail()


def test_a_full_service_refuses_the_busiest_client_at_once_and_admits_another(
    service: ServiceProcess,
) -> None:
    held: list[httpx.Response] = []
    with _client("127.0.0.2") as busy, _client("127.0.0.3") as other:
        holder = threading.Thread(target=lambda: held.append(busy.get(service.base_url + "/hold")))
        holder.start()
        try:
            _wait_until(lambda: _metric(service, "admission_in_flight") == 1)

            refused = busy.get(service.base_url + "/quick")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert refused.headers["Content-Type"] == "application/problem+json"
            assert refused.json()["code"] == "SERVICE_UNAVAILABLE"
            assert busy.get(service.base_url + "/healthz").status_code == 200  # never refused
            graphql = busy.post(service.base_url + "/graphql", json={"query": "{ a }"})
            assert graphql.status_code == 503
            assert graphql.headers["Retry-After"] == "1"
            assert graphql.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

            admitted = other.get(service.base_url + "/quick")
            assert admitted.status_code == 200
        finally:
            other.post(service.base_url + "/release")
            holder.join(WAIT_SECONDS)

        assert [response.status_code for response in held] == [200]
        assert busy.get(service.base_url + "/quick").status_code == 200  # back at once
    assert _metric(service, "admission_rejected_total") == 2
