"""Several worker processes (WEB_CONCURRENCY, as compose and the manifests set it): every
worker serves, and /metrics, whichever worker answers it, counts the requests of all; every
worker reloads a changed supergraph, and SIGHUP to uvicorn's supervisor replaces the workers
(unless the file is broken: then the old ones stay)."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from platform_devkit.processes import ServiceProcess, free_port


def _healthz_count(metrics: str) -> float:
    pattern = r'http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, metrics))


def test_metrics_of_all_workers_are_summed(tmp_path: Path, service_env: dict[str, str]) -> None:
    gateway = _workers_gateway(tmp_path, service_env)
    metrics_dir = tmp_path / "metrics"
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
            before = _healthz_count(client.get("/metrics").text)
            for _ in range(40):  # new connections, spread over the workers by the kernel
                assert httpx.get(gateway.base_url + "/healthz", timeout=10).status_code == 200
            # a request is counted just after its answer is sent: wait for the last ones
            deadline = time.monotonic() + 10
            while _healthz_count(client.get("/metrics").text) - before < 40:
                assert time.monotonic() < deadline, "the workers' counts never added up"
                time.sleep(0.05)
            counts = {_healthz_count(client.get("/metrics").text) - before for _ in range(5)}
        assert counts == {40.0}
        # each worker keeps its own file: more than one worker has served
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
    finally:
        gateway.stop()


SUPERGRAPH = (Path(__file__).resolve().parents[2] / "supergraph.graphql").read_text()
RENAMED = SUPERGRAPH.replace("  sku: String @join__field", "  skuCode: String @join__field")
BROKEN = SUPERGRAPH[: len(SUPERGRAPH) // 2]


def _workers_gateway(
    tmp_path: Path, service_env: dict[str, str], **settings: str
) -> ServiceProcess:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH)
    gateway = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "SUPERGRAPH_PATH": str(supergraph),
            "GATEWAY_SUPERGRAPH_POLL_SECONDS": "0.2",
            # a restarted worker must be ready within this, or the supervisor keeps the old
            # one (uvicorn's default, 5 s, is less than a start takes on a loaded machine)
            "UVICORN_TIMEOUT_WORKER_HEALTHCHECK": "60",
            **settings,
        },
        log_path=tmp_path / "gateway.log",
    ).start()
    # /healthz answers once one worker is up: wait for the other to have loaded the file
    try:
        _until(
            lambda: (tmp_path / "gateway.log").read_text().count("startup complete") == 2,
            "both workers started",
        )
    except BaseException:
        gateway.stop()
        raise
    return gateway


def _replace(path: Path, content: str) -> None:
    staged = path.with_suffix(".staged")
    staged.write_text(content)
    os.replace(staged, path)


def _product_fields(gateway: ServiceProcess) -> list[str]:
    """Introspection only: no subgraph is needed. A new connection each time, so the
    kernel spreads them over the workers."""
    query = '{ __type(name: "Product") { fields { name } } }'
    response = httpx.post(gateway.base_url + "/graphql", json={"query": query}, timeout=10)
    assert response.status_code == 200, response.text
    return [f["name"] for f in response.json()["data"]["__type"]["fields"]]


def _all_serve(gateway: ServiceProcess, field: str) -> bool:
    return all(field in _product_fields(gateway) for _ in range(20))


def _all_serve_once_replaced(gateway: ServiceProcess, field: str) -> bool:
    """`_all_serve` while uvicorn's supervisor replaces its workers: a connection the old
    worker accepted as it was told to stop may be closed unanswered (uvicorn's restart, not
    ours: a supergraph change is applied in place, without a restart), so that poll is
    simply not yet a yes."""
    try:
        return _all_serve(gateway, field)
    except httpx.TransportError:
        return False


def _applied_reloads(gateway: ServiceProcess) -> float:
    metrics = httpx.get(gateway.base_url + "/metrics", timeout=10).text
    found = re.search(
        r'^gateway_supergraph_reloads_total\{outcome="applied"\} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


def _until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def test_every_worker_serves_a_changed_supergraph(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    gateway = _workers_gateway(tmp_path, service_env)
    try:
        assert _all_serve(gateway, "sku")
        _replace(tmp_path / "supergraph.graphql", RENAMED)
        # each worker polls the file itself: the reloads summed over the workers reach two
        _until(lambda: _applied_reloads(gateway) == 2, "both workers reloaded")
        assert _all_serve(gateway, "skuCode")
    finally:
        gateway.stop()


def test_sighup_to_the_supervisor_replaces_the_workers_unless_the_file_is_broken(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    """uvicorn's supervisor answers SIGHUP by starting a new worker per worker, each put in
    service before the old one stops; a new worker that cannot start is discarded."""
    gateway = _workers_gateway(tmp_path, service_env, GATEWAY_SUPERGRAPH_WATCH="false")
    assert gateway.process is not None and gateway.log_path is not None
    log_path = gateway.log_path
    try:
        _replace(tmp_path / "supergraph.graphql", BROKEN)
        gateway.process.send_signal(signal.SIGHUP)
        _until(lambda: "aborting the restart" in log_path.read_text(), "the restart given up")
        assert gateway.running
        assert _all_serve(gateway, "sku")

        _replace(tmp_path / "supergraph.graphql", RENAMED)
        gateway.process.send_signal(signal.SIGHUP)
        _until(lambda: _all_serve_once_replaced(gateway, "skuCode"), "every worker replaced")
        assert gateway.running
    finally:
        gateway.stop()
