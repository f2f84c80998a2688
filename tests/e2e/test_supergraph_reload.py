"""The supergraph changes under a running gateway (a real process, in front of the real
subgraphs and database): the change is served without a failed request, a broken file
changes nothing, and SIGHUP reloads without ending the process.

Each test runs its own gateway on a copy of the committed supergraph in tmp_path. The
changed supergraph is the committed one with `OrderItem.product` marked `@inaccessible`:
a schema visibly different through introspection, and one the subgraphs still serve."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port
from platform_devkit.subscriptions import graphql_ws

from .conftest import Platform

SUPERGRAPH = (Path(__file__).resolve().parents[2] / "gateway" / "supergraph.graphql").read_text()
ORDER_ITEM_FIELDS = '__type(name: "OrderItem") { fields { name } }'
# valid on both schemas, so any failure is the reload's; the marker tells which one answered
LOOP_QUERY = f"{{ products(limit: 3) {{ items {{ id name price }} total }} {ORDER_ITEM_FIELDS} }}"
ORDERS_QUERY = "{ orders(limit: 3) { total items { id status } } }"


def _hidden_order_item_product(sdl: str) -> str:
    """The supergraph as the composer writes it when a subgraph marks the field
    @inaccessible: the inaccessible spec linked, its directive defined, the field marked."""
    join_link = '  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
    field_line = "  product: Product\n}"
    order_item = sdl.index("type OrderItem\n")
    assert join_link in sdl and sdl.find(field_line, order_item) > 0, "the supergraph changed"
    at = sdl.index(field_line, order_item)
    sdl = sdl[:at] + "  product: Product @inaccessible\n}" + sdl[at + len(field_line) :]
    inaccessible = '  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)\n'
    return sdl.replace(join_link, join_link + inaccessible) + (
        "\ndirective @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | "
        "ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n"
    )


CHANGED = _hidden_order_item_product(SUPERGRAPH)
BROKEN = SUPERGRAPH[: len(SUPERGRAPH) // 2]  # cut short, as a failed copy leaves it


def _write_atomically(path: Path, content: str) -> None:
    """As `make supergraph` and deployment tools write: the reader sees old or new, whole."""
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    staged.write_text(content)
    os.replace(staged, path)


class ConfigMapVolume:
    """A directory as the kubelet lays out a mounted ConfigMap: `<name>` is a symlink to
    `..data/<name>`, `..data` a symlink to a directory per version. An update writes a new
    directory, renames a new `..data` over the old one and deletes the old directory: the
    file's path stays, its inode does not."""

    def __init__(self, root: Path, name: str) -> None:
        root.mkdir()
        self.root = root
        self.path = root / name
        self._version: Path | None = None

    def publish(self, content: str) -> None:
        version = self.root / f"..{uuid.uuid4().hex}"
        version.mkdir()
        (version / self.path.name).write_text(content)
        staged = self.root / "..data_tmp"
        staged.symlink_to(version.name)
        os.replace(staged, self.root / "..data")
        if not self.path.is_symlink():
            self.path.symlink_to(f"..data/{self.path.name}")
        if self._version is not None:
            for file in self._version.iterdir():
                file.unlink()
            self._version.rmdir()
        self._version = version


GatewayFactory = Callable[..., ServiceProcess]


@pytest.fixture
def start_gateway(
    platform: Platform, service_env: dict[str, str], tmp_path: Path
) -> Iterator[GatewayFactory]:
    started: list[ServiceProcess] = []

    def start(supergraph_path: Path, **settings: str) -> ServiceProcess:
        gateway = ServiceProcess(
            "gateway",
            "gateway.entrypoints.app:create_app",
            free_port(),
            env={
                **service_env,
                "SUPERGRAPH_PATH": str(supergraph_path),
                "SUBGRAPH_URL_INVENTORY": platform.inventory.base_url + "/graphql",
                "SUBGRAPH_URL_ORDERS": platform.orders.base_url + "/graphql",
                "GATEWAY_SUPERGRAPH_POLL_SECONDS": "0.2",
                # the request loops are a load, not a person: a budget they never spend
                "GATEWAY_BUDGET_RESTORE_RATE": "1e12",
                **settings,
            },
            log_path=tmp_path / "gateway.log",
        )
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.stop()


def _order_item_fields(gateway: ServiceProcess) -> list[str]:
    response = httpx.post(
        gateway.base_url + "/graphql", json={"query": f"{{ {ORDER_ITEM_FIELDS} }}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return [f["name"] for f in response.json()["data"]["__type"]["fields"]]


def _serves_changed_schema(gateway: ServiceProcess) -> bool:
    return "product" not in _order_item_fields(gateway)


def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def _log_records(gateway: ServiceProcess, message: str) -> list[dict[str, Any]]:
    assert gateway.log_path is not None
    records = []
    for line in gateway.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == message:
            records.append(record)
    return records


def _reloads(gateway: ServiceProcess, outcome: str) -> float:
    metrics = httpx.get(gateway.base_url + "/metrics", timeout=10).text
    found = re.search(
        rf'^gateway_supergraph_reloads_total\{{outcome="{outcome}"\}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


@dataclass
class Answer:
    client: int
    what: str
    status: int
    errors: Any = None
    changed_schema: bool | None = None  # for the GraphQL query that carries the marker


@dataclass
class ClientLoop:
    """Clients sending GraphQL (anonymous and with a token) and REST requests, one after
    another each, until stopped; every answer is kept."""

    base_url: str
    token: str
    clients: int = 3
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> ClientLoop:
        self._threads = [
            threading.Thread(target=self._run, args=(number,), daemon=True)
            for number in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def answered(self) -> int:
        with self._lock:
            return len(self.answers)

    def _run(self, number: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    self._round(number, client)
                except httpx.HTTPError as error:  # no answer at all: a failure too
                    self._keep(Answer(number, "any", 0, repr(error)))

    def _round(self, number: int, client: httpx.Client) -> None:
        response = client.post("/graphql", json={"query": LOOP_QUERY})
        body = response.json() if response.status_code == 200 else {}
        fields = (body.get("data") or {}).get("__type", {}).get("fields") or []
        errors = body.get("errors") or (None if body else response.text)
        changed = "product" not in [f["name"] for f in fields]
        self._keep(Answer(number, "graphql", response.status_code, errors, changed))
        response = client.post(
            "/graphql",
            json={"query": ORDERS_QUERY},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        errors = response.json().get("errors") if response.status_code == 200 else response.text
        self._keep(Answer(number, "graphql orders", response.status_code, errors))
        response = client.get("/products", params={"limit": 3})
        errors = None if response.status_code == 200 else response.text
        self._keep(Answer(number, "rest", response.status_code, errors))

    def _keep(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)


def _supergraph_file(tmp_path: Path) -> Path:
    """The served supergraph, alone in its folder (as a mounted volume would have it)."""
    folder = tmp_path / "supergraph"
    folder.mkdir()
    path = folder / "supergraph.graphql"
    path.write_text(SUPERGRAPH)
    return path


def test_a_changed_supergraph_is_served_without_a_failed_request(
    platform: Platform, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    admin = platform.make_token("admin-1", "admin")
    created = platform.graphql(
        'mutation { createProduct(input: {name: "Kettle", price: "9.99", stock: 4}) { id } }',
        token=admin,
    )
    assert "errors" not in created.json(), created.text
    volume = ConfigMapVolume(tmp_path / "config", "supergraph.graphql")
    volume.publish(SUPERGRAPH)
    gateway = start_gateway(volume.path)
    assert "product" in _order_item_fields(gateway)

    with ClientLoop(gateway.base_url, platform.make_token("reload-customer")) as loop:
        _until(lambda: loop.answered() >= 30, "answers before the change")
        volume.publish(CHANGED)  # the way a ConfigMap update reaches a pod
        _until(lambda: _serves_changed_schema(gateway), "the change served")
        seen = loop.answered()
        _until(lambda: loop.answered() >= seen + 30, "answers after the change")

    failed = [a for a in loop.answers if a.status != 200 or a.errors]
    assert failed == []
    for client in range(loop.clients):
        # each client's requests, in order: the old schema, then the new one for good
        schemas = [
            a.changed_schema for a in loop.answers if a.client == client and a.what == "graphql"
        ]
        assert schemas == sorted(schemas), f"client {client} went back to the old schema"
    assert {a.changed_schema for a in loop.answers if a.what == "graphql"} == {False, True}
    # the field is gone from what the gateway accepts, not only from introspection
    refused = httpx.post(
        gateway.base_url + "/graphql",
        json={"query": "{ orders { items { items { product { id } } } } }"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    (reloaded,) = _log_records(gateway, "supergraph reloaded")
    assert reloaded["trigger"] == "poll"
    assert _reloads(gateway, "applied") == 1


def test_a_broken_supergraph_changes_nothing(
    platform: Platform, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    path = _supergraph_file(tmp_path)
    gateway = start_gateway(path)

    _write_atomically(path, BROKEN)
    _until(lambda: _reloads(gateway, "rejected") == 1, "the broken file rejected")
    (rejected,) = _log_records(gateway, "supergraph rejected; still serving the previous one")
    assert rejected["level"] == "error"
    assert rejected["reason"].startswith("GraphQLSyntaxError: Syntax Error")
    assert rejected["supergraph_path"] == str(path)
    # the old schema still serves, GraphQL and REST
    assert "product" in _order_item_fields(gateway)
    answer = httpx.post(gateway.base_url + "/graphql", json={"query": LOOP_QUERY}, timeout=10)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    assert httpx.get(gateway.base_url + "/products", timeout=10).status_code == 200
    assert httpx.get(gateway.base_url + "/readyz", timeout=10).status_code == 200
    # and the watch goes on: the next good file is served
    _write_atomically(path, CHANGED)
    _until(lambda: _serves_changed_schema(gateway), "the good file after the broken one")
    assert (_reloads(gateway, "rejected"), _reloads(gateway, "applied")) == (1, 1)


def _point(link: Path, target: Path) -> None:
    """Re-points a symlink in one step, as a ConfigMap update does."""
    staged = link.with_name(f".{link.name}.{uuid.uuid4().hex}")
    staged.symlink_to(target)
    os.replace(staged, link)


def test_a_path_naming_no_regular_file_is_refused_unread(
    platform: Platform, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """A FIFO would block the reload thread for good and /dev/zero fill the memory: both
    are refused with an error, the served schema stays and the watch goes on."""
    served = _supergraph_file(tmp_path)
    link = tmp_path / "supergraph.link"
    link.symlink_to(served)
    gateway = start_gateway(link)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    for refused, target in enumerate((fifo, Path("/dev/zero")), start=1):
        _point(link, target)
        _until(lambda n=refused: _reloads(gateway, "unreadable") == n, f"{target} refused")
    records = _log_records(gateway, "cannot read the supergraph; still serving the previous one")
    assert [record["level"] for record in records] == ["error", "error"]
    assert [record["reason"].rsplit(" but ", 1)[-1] for record in records] == [
        "a FIFO",
        "a character device",
    ]
    assert "product" in _order_item_fields(gateway)

    changed = tmp_path / "changed.graphql"
    changed.write_text(CHANGED)
    _point(link, changed)
    _until(lambda: _serves_changed_schema(gateway), "the good file after the refused ones")


def test_sighup_reloads_the_supergraph_in_the_running_process(
    platform: Platform, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    path = _supergraph_file(tmp_path)
    gateway = start_gateway(path, GATEWAY_SUPERGRAPH_WATCH="false")  # only the signal reloads
    assert gateway.process is not None

    _write_atomically(path, CHANGED)
    gateway.process.send_signal(signal.SIGHUP)
    _until(lambda: _serves_changed_schema(gateway), "the change served after SIGHUP")
    (reloaded,) = _log_records(gateway, "supergraph reloaded")
    assert reloaded["trigger"] == "SIGHUP"

    gateway.process.send_signal(signal.SIGHUP)  # nothing new: nothing built, still running
    _until(lambda: bool(_log_records(gateway, "supergraph unchanged")), "the second SIGHUP")
    assert gateway.running
    assert _reloads(gateway, "applied") == 1
    answer = httpx.get(gateway.base_url + "/products", timeout=10)
    assert answer.status_code == 200


PRODUCT_UPDATED = "subscription($id: ID) { productUpdated(id: $id) { id stock } }"


def _feed_subscribers(service: ServiceProcess) -> float:
    metrics = httpx.get(service.base_url + "/metrics", timeout=5).text
    found = re.findall(r'^change_feed_subscribers\{feed="products"\} (\S+)$', metrics, re.M)
    return float(found[0]) if found else 0.0


async def _feed_reaches(service: ServiceProcess, count: float) -> None:
    for _ in range(400):
        if await asyncio.to_thread(_feed_subscribers, service) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} subscribers of the products feed never came")


async def test_open_subscriptions_outlive_a_supergraph_reload(
    platform: Platform, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """A subscription opened before the reload keeps receiving after it (it runs on the
    gateway it started on, its fields still valid), beside one opened on the new supergraph;
    neither is ended by the reload."""
    path = _supergraph_file(tmp_path)
    gateway = start_gateway(path, GATEWAY_SUPERGRAPH_WATCH="false")  # only the signal reloads
    assert gateway.process is not None
    admin = platform.make_token("admin-1", "admin")
    created = platform.graphql(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
        {"i": {"name": f"Reloaded {uuid.uuid4().hex[:6]}", "price": "1.00", "stock": 5}},
        admin,
    ).json()["data"]["createProduct"]["id"]
    url = gateway.base_url + "/graphql"
    base = _feed_subscribers(platform.inventory)
    async with graphql_ws(url) as before:
        await before.subscribe("old", PRODUCT_UPDATED, {"id": created})
        await _feed_reaches(platform.inventory, base + 1)
        _write_atomically(path, CHANGED)
        gateway.process.send_signal(signal.SIGHUP)
        await asyncio.to_thread(
            _until, lambda: _serves_changed_schema(gateway), "the change served after SIGHUP"
        )
        async with graphql_ws(url) as after:
            await after.subscribe("new", PRODUCT_UPDATED, {"id": created})
            # the new supergraph's subscription is a stream of its own
            await _feed_reaches(platform.inventory, base + 2)
            for stock in (6, 7):
                updated = platform.graphql(
                    "mutation($id: ID!, $s: Int!) { updateProduct(id: $id, input: {stock: $s})"
                    " { id } }",
                    {"id": created, "s": stock},
                    admin,
                )
                assert updated.status_code == 200 and "errors" not in updated.json()
                for client, name in ((before, "old"), (after, "new")):
                    payload = await client.next_payload(name)
                    assert payload == {"data": {"productUpdated": {"id": created, "stock": stock}}}
    assert _reloads(gateway, "applied") == 1
