"""Trusted documents on real gateway processes (in front of the module's real subgraphs and
database), each with its own manifest in tmp_path: strict mode runs only the manifest's
operations (by id, or as their text) and introspection, log_unknown runs everything and logs
the rest once, the REST routes keep working, and a changed manifest is served without a
restart while a broken one changes nothing.

The manifest is the committed one (`make pq-manifest`) plus an operation of the test's own."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from platform_devkit.processes import ServiceProcess, free_port

from .conftest import Platform

COMMITTED = Path(__file__).resolve().parents[2] / "gateway" / "persisted-queries.json"
LISTED = "query ListedProducts { products(limit: 2) { total limit } }"
UNLISTED = "query UnlistedProducts { products(limit: 3) { total } }"
LATER = "query AddedLater { products(limit: 4) { limit } }"
NOT_RELOADED = "trusted documents not reloaded; the previous ones stay in service"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _manifest(*bodies: str) -> str:
    manifest = json.loads(COMMITTED.read_text())
    manifest["operations"] += [
        {"id": _sha256(body), "name": body.split()[1], "type": "query", "body": body}
        for body in bodies
    ]
    return json.dumps(manifest)


def _write_atomically(path: Path, content: str) -> None:
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    staged.write_text(content)
    os.replace(staged, path)


GatewayFactory = Callable[[str, Path], ServiceProcess]


@pytest.fixture
def start_gateway(
    platform: Platform, service_env: dict[str, str], tmp_path: Path
) -> Iterator[GatewayFactory]:
    started: list[ServiceProcess] = []

    def start(mode: str, manifest: Path) -> ServiceProcess:
        gateway = ServiceProcess(
            "gateway",
            "gateway.entrypoints.app:create_app",
            free_port(),
            env={
                **service_env,
                "SUBGRAPH_URL_INVENTORY": platform.inventory.base_url + "/graphql",
                "SUBGRAPH_URL_ORDERS": platform.orders.base_url + "/graphql",
                "GATEWAY_SUPERGRAPH_POLL_SECONDS": "0.2",
                "GATEWAY_TRUSTED_DOCUMENTS": str(manifest),
                "GATEWAY_TRUSTED_DOCUMENTS_MODE": mode,
            },
            log_path=tmp_path / f"gateway-{mode}-{len(started)}.log",
        )
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.stop()


def _post(gateway: ServiceProcess, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(gateway.base_url + "/graphql", json=body, headers=headers, timeout=30)


def _by_id(identifier: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": identifier}}}


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


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


def test_strict_mode_runs_only_the_manifests_operations(
    start_gateway: GatewayFactory, tmp_path: Path, make_token: Callable[..., str]
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_manifest(LISTED))
    gateway = start_gateway("strict", manifest)

    by_id = _post(gateway, _by_id(_sha256(LISTED)))
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["data"]["products"]["limit"] == 2
    by_document_id = _post(gateway, {"documentId": _sha256(LISTED)})
    assert by_document_id.status_code == 200, by_document_id.text
    as_text = _post(gateway, {"query": LISTED})
    assert as_text.status_code == 200, as_text.text
    reformatted = LISTED.replace(" ", "\n  ") + "\n# the same operation, written otherwise\n"
    assert _post(gateway, {"query": reformatted}).status_code == 200
    over_get = httpx.get(
        gateway.base_url + "/graphql",
        params={"documentId": _sha256(LISTED)},
        headers={"apollo-require-preflight": "true"},
        timeout=30,
    )
    assert over_get.status_code == 200, over_get.text

    unlisted = _post(gateway, {"query": UNLISTED})
    assert unlisted.status_code == 400
    assert _code(unlisted) == "PERSISTED_QUERY_NOT_IN_LIST"
    unknown_id = _post(gateway, _by_id(_sha256(UNLISTED)))
    assert unknown_id.status_code == 400
    assert _code(unknown_id) == "PERSISTED_QUERY_NOT_IN_LIST"
    # APQ cannot bring an operation in: the registration is refused, and nothing is kept
    registering = _post(gateway, {"query": UNLISTED, **_by_id(_sha256(UNLISTED))})
    assert registering.status_code == 400
    assert _code(_post(gateway, _by_id(_sha256(UNLISTED)))) == "PERSISTED_QUERY_NOT_IN_LIST"

    # GraphiQL learns the schema
    introspection = _post(gateway, {"query": "{ __schema { queryType { name } } }"})
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"

    # the README's own examples are in the committed manifest
    readme = "{ orders { items { id status items { quantity product { name price stock } } } } }"
    alice = {"Authorization": f"Bearer {make_token('alice')}"}
    assert _post(gateway, {"query": readme}, **alice).status_code == 200

    # REST: its operations run in process, and are in the manifest besides
    admin = {"Authorization": f"Bearer {make_token('boss', 'admin')}"}
    created = httpx.post(
        gateway.base_url + "/products",
        json={"name": f"strict-{uuid.uuid4().hex[:8]}", "price": "2.50", "stock": 3},
        headers=admin,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    product = created.json()["id"]
    assert httpx.get(f"{gateway.base_url}/products/{product}", timeout=30).status_code == 200
    assert httpx.get(gateway.base_url + "/products?limit=2", timeout=30).status_code == 200


def test_log_unknown_runs_everything_and_logs_each_unknown_operation_once(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_manifest(LISTED))
    gateway = start_gateway("log_unknown", manifest)

    assert _post(gateway, {"query": LISTED}).status_code == 200
    assert _post(gateway, _by_id(_sha256(LISTED))).status_code == 200
    for _ in range(3):
        assert _post(gateway, {"query": UNLISTED}).status_code == 200
    deadline = time.monotonic() + 10
    while not _log_records(gateway, "unknown operation") and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = _log_records(gateway, "unknown operation")
    assert [r["operation_sha256"] for r in logged] == [_sha256(UNLISTED)]
    assert logged[0]["operation_name"] is None  # not given by the request
    assert "UnlistedProducts" in logged[0]["operation_body"]


def test_a_changed_manifest_is_served_and_a_broken_one_changes_nothing(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_manifest(LISTED))
    gateway = start_gateway("strict", manifest)
    assert _code(_post(gateway, _by_id(_sha256(LATER)))) == "PERSISTED_QUERY_NOT_IN_LIST"

    _write_atomically(manifest, _manifest(LISTED, LATER))
    deadline = time.monotonic() + 15
    while _post(gateway, _by_id(_sha256(LATER))).status_code != 200:
        assert time.monotonic() < deadline, "the new manifest was not served"
        time.sleep(0.1)

    for broken in ('{"format": "apollo-persisted-query-manifest", "version": 2}', "{ cut sh"):
        _write_atomically(manifest, broken)
        deadline = time.monotonic() + 15
        while len(_log_records(gateway, NOT_RELOADED)) < (1 if broken.startswith('{"') else 2):
            assert time.monotonic() < deadline, "the broken manifest was not reported"
            time.sleep(0.1)
        assert _post(gateway, _by_id(_sha256(LATER))).status_code == 200
        assert _post(gateway, {"query": LISTED}).status_code == 200


def test_a_strict_gateway_does_not_start_without_its_manifest(
    platform: Platform, service_env: dict[str, str], tmp_path: Path
) -> None:
    gateway = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "GATEWAY_TRUSTED_DOCUMENTS": str(tmp_path / "missing.json"),
            "GATEWAY_TRUSTED_DOCUMENTS_MODE": "strict",
        },
        log_path=tmp_path / "gateway.log",
    )
    with pytest.raises(RuntimeError, match="exited early"):
        gateway.start()
    gateway.stop()
    assert "missing.json" in (tmp_path / "gateway.log").read_text()


def test_strict_mode_holds_for_server_sent_events_and_websockets(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """Every way in resolves documents alike: an event stream or a graphql-transport-ws
    subscribe is no way around the manifest, and runs a listed operation by its id."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_manifest(LISTED))
    gateway = start_gateway("strict", manifest)
    stream = {"Accept": "text/event-stream"}

    unlisted = _post(gateway, {"query": UNLISTED}, **stream)
    assert unlisted.status_code == 400
    assert _code(unlisted) == "PERSISTED_QUERY_NOT_IN_LIST"
    listed = _post(gateway, _by_id(_sha256(LISTED)), **stream)
    assert listed.status_code == 200, listed.text
    assert listed.headers["content-type"].startswith("text/event-stream")
    assert '"limit":2' in listed.text

    url = gateway.base_url.replace("http://", "ws://") + "/graphql"
    with ws_connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(socket.recv(timeout=10))["type"] == "connection_ack"
        socket.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": UNLISTED}}))
        refused = json.loads(socket.recv(timeout=10))
        assert refused["type"] == "error" and refused["id"] == "1"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        socket.send(
            json.dumps({"type": "subscribe", "id": "2", "payload": _by_id(_sha256(LISTED))})
        )
        answered = json.loads(socket.recv(timeout=10))
        assert answered["type"] == "next" and answered["id"] == "2", answered
        assert answered["payload"]["data"]["products"]["limit"] == 2
