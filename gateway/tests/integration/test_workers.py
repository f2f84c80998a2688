"""Several worker processes (WEB_CONCURRENCY, as compose and the manifests set it): every
worker serves, and /metrics, whichever worker answers it, counts the requests of all."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from platform_devkit.processes import ServiceProcess, free_port


def _healthz_count(metrics: str) -> float:
    pattern = r'http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, metrics))


def test_metrics_of_all_workers_are_summed(tmp_path: Path, service_env: dict[str, str]) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    gateway = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        log_path=tmp_path / "gateway.log",
    ).start()
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
