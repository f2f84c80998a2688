"""@defer over the real stack: a gateway process in front of the order and inventory
subgraphs, read as a client reads a multipart answer. The inventory is reached through a
proxy that holds its entity calls until the test has read the first payload: a gateway
that made the first payload wait for the deferred part could not send it, and the proxy
would only let go at its own timeout, which the test sees."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

from .conftest import Platform

DEFER_ACCEPT = "multipart/mixed;deferSpec=20220824, application/json;q=0.9"
CREATE_PRODUCT = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id } }"""
CREATE_ORDER = (
    """mutation($items: [OrderLineInput!]!) { createOrder(input: {items: $items}) { id } }"""
)
ORDER_PAGE = """query($id: ID!) { order(id: $id) { status
  ... @defer(label: "lines") { items { quantity product { name } } } } }"""
HOLD_SECONDS = 20.0


class HoldingProxy:
    """Forwards POSTs to the inventory; `_entities` calls wait until `release` (or
    HOLD_SECONDS), so the deferred part cannot be done before the test says so."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.released = threading.Event()
        self.held = 0
        self.timed_out = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if b"_entities" in body:
                    proxy.held += 1
                    if not proxy.released.wait(HOLD_SECONDS):
                        proxy.timed_out = True
                headers = {"content-type": "application/json"}
                answer = httpx.post(proxy.upstream + self.path, content=body, headers=headers)
                self.send_response(answer.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def proxy(platform: Platform) -> Iterator[HoldingProxy]:
    held = HoldingProxy(platform.inventory.base_url)
    yield held
    held.close()


@pytest.fixture(scope="module")
def gateway(
    platform: Platform,
    proxy: HoldingProxy,
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """A second gateway of the platform, reaching the inventory through the proxy."""
    logs: Path = tmp_path_factory.mktemp("deferring_gateway")
    process = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "SUBGRAPH_URL_INVENTORY": proxy.url + "/graphql",
            "SUBGRAPH_URL_ORDERS": platform.orders.base_url + "/graphql",
            "GATEWAY_SUBGRAPH_TIMEOUT_SECONDS": str(HOLD_SECONDS + 10),
        },
        log_path=logs / "gateway.log",
        extra_args=("--no-proxy-headers",),
    ).start()
    yield process
    process.stop()


def _order(platform: Platform, customer: str) -> str:
    admin = platform.make_token("admin-1", "admin")
    ids = []
    for name in ("Kettle", "Teapot"):
        created = platform.graphql(
            CREATE_PRODUCT,
            {"input": {"name": f"{name} {uuid.uuid4().hex[:4]}", "price": "3.50", "stock": 9}},
            admin,
        ).json()
        ids.append(created["data"]["createProduct"]["id"])
    lines = [{"productId": product, "quantity": 1} for product in ids]
    order = platform.graphql(CREATE_ORDER, {"items": lines}, customer).json()
    return str(order["data"]["createOrder"]["id"])


class PartReader:
    """The JSON parts of a `multipart/mixed; boundary="-"` body, each as soon as its
    closing delimiter has arrived (the gateway sends a part and the next delimiter
    together)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = b""
        self.opened = False

    def next_part(self) -> dict[str, Any] | None:
        """The next part; None at the close delimiter."""
        while True:
            if not self.opened and self.buffer.startswith(b"\r\n---\r\n"):
                self.buffer = self.buffer[len(b"\r\n---") :]
                self.opened = True
            if self.opened:
                if self.buffer.startswith(b"--\r\n"):
                    return None
                end = self.buffer.find(b"\r\n---")
                if end >= 0:
                    part, self.buffer = self.buffer[:end], self.buffer[end + len(b"\r\n---") :]
                    head, _, body = part.partition(b"\r\n\r\n")
                    assert head.strip() == b"content-type: application/json; charset=utf-8"
                    parsed: dict[str, Any] = json.loads(body)
                    return parsed
            self.buffer += next(self.chunks)


def test_the_first_payload_comes_before_a_slow_deferred_part(
    platform: Platform, proxy: HoldingProxy, gateway: ServiceProcess
) -> None:
    proxy.released.clear()  # another test may have let go of it
    proxy.held, proxy.timed_out = 0, False
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    order_id = _order(platform, customer)
    headers = {"Authorization": f"Bearer {customer}", "Accept": DEFER_ACCEPT}
    body = {"query": ORDER_PAGE, "variables": {"id": order_id}}
    with httpx.stream(
        "POST", gateway.base_url + "/graphql", json=body, headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == (
            'multipart/mixed; boundary="-"; deferSpec=20220824'
        )
        reader = PartReader(response.iter_raw())
        first = reader.next_part()
        # read while the proxy still holds the product names: nothing waited for them
        assert not proxy.released.is_set()
        proxy.released.set()
        assert first is not None
        assert first["data"] == {"order": {"status": "PENDING"}}
        assert first["hasNext"] is True
        assert "requestedQueryCost" in first["extensions"]["cost"]
        deferred = reader.next_part()
        assert reader.next_part() is None
    assert proxy.held >= 1 and not proxy.timed_out
    assert deferred is not None and deferred["hasNext"] is False
    (entry,) = deferred["incremental"]
    assert entry["path"] == ["order"] and entry["label"] == "lines"
    names = sorted(item["product"]["name"] for item in entry["data"]["items"])
    assert [name.split()[0] for name in names] == ["Kettle", "Teapot"]
    assert "errors" not in entry


def test_a_client_without_multipart_gets_the_whole_answer_at_once(
    platform: Platform, proxy: HoldingProxy, gateway: ServiceProcess
) -> None:
    proxy.released.set()
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    order_id = _order(platform, customer)
    answer = httpx.post(
        gateway.base_url + "/graphql",
        json={"query": ORDER_PAGE, "variables": {"id": order_id}},
        headers={"Authorization": f"Bearer {customer}", "Accept": "application/json"},
        timeout=60,
    )
    assert answer.headers["content-type"] == "application/json"
    order = answer.json()["data"]["order"]
    assert order["status"] == "PENDING"
    assert len(order["items"]) == 2 and all(item["product"]["name"] for item in order["items"])


def test_a_query_without_defer_is_plain_json_even_for_a_multipart_client(
    gateway: ServiceProcess,
) -> None:
    answer = httpx.post(
        gateway.base_url + "/graphql",
        json={"query": "{ products(limit: 1) { total } }"},
        headers={"Accept": DEFER_ACCEPT},
        timeout=60,
    )
    assert answer.headers["content-type"] == "application/json"
    assert "total" in answer.json()["data"]["products"]
