"""On SIGTERM a service finishes the request in flight and takes no new ones."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

SLOW_SECONDS = 2.0


class SlowInventory(BaseHTTPRequestHandler):
    """Answers reservations correctly, but slowly."""

    def do_GET(self) -> None:
        self._answer(200, {"status": "ok"})

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        lines = json.loads(self.rfile.read(length))["lines"]
        time.sleep(SLOW_SECONDS)
        reservation = self.path.rsplit("/", 1)[-1]
        self._answer(
            200,
            {
                "reservation_id": reservation,
                "status": "reserved",
                "lines": [
                    {
                        "product_id": line["product_id"],
                        "name": "Slow thing",
                        "unit_price": "1.00",
                        "currency": "USD",
                        "quantity": line["quantity"],
                    }
                    for line in lines
                ],
            },
        )

    def _answer(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def slow_inventory() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowInventory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sigterm_lets_the_request_in_flight_finish(
    slow_inventory: str,
    mongo_uri: str,
    service_env: dict[str, str],
    make_token: object,
    tmp_path: Path,
) -> None:
    token = make_token("patient")  # type: ignore[operator]
    orders = ServiceProcess(
        "orders",
        "orders.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "ORDERS_MONGODB_URI": mongo_uri,
            "INVENTORY_URL": slow_inventory,
            "INVENTORY_TIMEOUT_SECONDS": "10",
        },
        log_path=tmp_path / "orders.log",
    ).start()
    result: dict[str, object] = {}

    def order() -> None:
        response = httpx.post(
            orders.base_url + "/graphql",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
            json={
                "query": "mutation { createOrder(input: {items: [{productId: "
                '"p1", quantity: 1}]}) { status } }'
            },
        )
        result["status"] = response.status_code
        result["body"] = response.json()

    try:
        in_flight = threading.Thread(target=order)
        in_flight.start()
        time.sleep(SLOW_SECONDS / 2)
        assert orders.process is not None
        orders.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(httpx.TransportError):
            httpx.get(orders.base_url + "/healthz", timeout=2)
        in_flight.join(timeout=30)
        assert result["status"] == 200
        assert result["body"]["data"] == {"createOrder": {"status": "PENDING"}}
        # uvicorn re-raises the signal once it has drained, so a clean exit is -SIGTERM
        assert orders.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        orders.stop()
