"""With an OTLP endpoint configured, a service exports its spans there (OTLP/HTTP)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

RECEIVED: list[tuple[str, bytes]] = []


class Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        RECEIVED.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[str]:
    RECEIVED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_spans_reach_the_otlp_endpoint(
    collector: str, mongo_uri: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    inventory = ServiceProcess(
        "inventory",
        "inventory.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "INVENTORY_MONGODB_URI": mongo_uri,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
        log_path=tmp_path / "inventory.log",
    ).start()
    try:
        httpx.post(inventory.base_url + "/graphql", json={"query": "{ products { total } }"})
        for _ in range(100):
            if RECEIVED:
                break
            time.sleep(0.1)
    finally:
        inventory.stop()
    assert RECEIVED, "no spans were exported"
    path, body = RECEIVED[0]
    assert path == "/v1/traces"
    assert b"inventory" in body  # the service.name resource attribute
