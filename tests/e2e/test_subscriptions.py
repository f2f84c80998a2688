"""Subscriptions through the gateway, on the real stack: each subgraph's change stream on
SecantusDB, the subgraphs' graphql-transport-ws, the gateway's WebSocket and SSE.

A test knows a subscription is live when the subgraph's change feed counts its subscriber
(`change_feed_subscribers` on the subgraph's /metrics): from then on every change reaches it.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from platform_devkit.processes import ServiceProcess, free_port
from platform_devkit.stack import subgraph_urls
from platform_devkit.subscriptions import PROTOCOL, graphql_ws, sse_subscription

from .conftest import Platform

pytestmark = pytest.mark.slow

PLATFORM_ENV = {
    # a small queue per subscriber, so that a client that does not read is cut off soon
    "GATEWAY_SUBSCRIPTION_QUEUE_SIZE": "4",
    # uvicorn's own WebSocket pings (20 s, then 20 s for the pong) would drop a client that
    # reads nothing before its queue fills on this slow a stream of events: they wait here
    "UVICORN_WS_PING_INTERVAL": "600",
}

CREATE_PRODUCT = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id } }"""
UPDATE_PRODUCT = """mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id stock } }"""
CREATE_ORDER = """mutation($items: [OrderLineInput!]!) {
  createOrder(input: {items: $items}) { id } }"""
COMPLETE_ORDER = """mutation($id: ID!) {
  updateOrderStatus(id: $id, status: COMPLETED) { id status } }"""
ORDER_UPDATED = """subscription($id: ID) {
  orderUpdated(id: $id) { id status items { quantity product { name stock } } } }"""
PRODUCT_UPDATED = """subscription($id: ID) { productUpdated(id: $id) { id name stock } }"""


def _ok(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def _product(platform: Platform, admin: str, name: str, **fields: Any) -> str:
    data = _ok(
        platform.graphql(
            CREATE_PRODUCT, {"input": {"name": name, "price": "3.50", "stock": 50, **fields}}, admin
        )
    )
    return str(data["createProduct"]["id"])


def _subscribers(service: ServiceProcess, feed: str) -> float:
    metrics = httpx.get(service.base_url + "/metrics", timeout=5).text
    pattern = rf'^change_feed_subscribers\{{feed="{feed}"\}} (\S+)$'
    found = re.findall(pattern, metrics, re.MULTILINE)
    return float(found[0]) if found else 0.0


def _slow_consumers_cut(gateway: ServiceProcess) -> float:
    metrics = httpx.get(gateway.base_url + "/metrics", timeout=5).text
    pattern = r'^gateway_subscriptions_ended_total\{reason="slow_consumer"\} (\S+)$'
    found = re.findall(pattern, metrics, re.MULTILINE)
    return float(found[0]) if found else 0.0


async def _live(service: ServiceProcess, feed: str, count: float) -> None:
    """Until the subgraph's feed has `count` subscribers (bounded: 20 s)."""
    for _ in range(400):
        if await asyncio.to_thread(_subscribers, service, feed) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{feed}: {count} subscribers never came")


def _open_at_gateway(gateway: ServiceProcess) -> float:
    metrics = httpx.get(gateway.base_url + "/metrics", timeout=5).text
    found = re.findall(r"^gateway_subscriptions_open\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
    return sum(float(value) for value in found)


async def _open(gateway: ServiceProcess, count: float) -> None:
    """Until the gateway has `count` client subscriptions open (bounded: 20 s). Clients of
    one stream share it (one subgraph subscriber for all of them): each is live once the
    gateway counts it and the subgraph counts the stream."""
    for _ in range(400):
        if await asyncio.to_thread(_open_at_gateway, gateway) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} subscriptions never opened at the gateway")


async def _graphql(
    platform: Platform, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await asyncio.to_thread(platform.graphql, query, variables, token)
    return _ok(response)


async def test_a_customer_receives_their_order_joined_with_the_inventory_and_no_one_else_does(
    platform: Platform,
) -> None:
    admin = platform.make_token("admin-1", "admin")
    alice = platform.make_token(f"alice-{uuid.uuid4().hex[:6]}")
    bob = platform.make_token(f"bob-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, "Kettle", stock=7)
    base = _subscribers(platform.orders, "orders")
    url = platform.gateway.base_url + "/graphql"
    async with graphql_ws(url, token=alice) as alices, graphql_ws(url, header_token=bob) as bobs:
        await alices.subscribe("a", ORDER_UPDATED)
        await bobs.subscribe("b", ORDER_UPDATED)
        await _live(platform.orders, "orders", base + 2)
        created = await _graphql(
            platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 2}]}, alice
        )
        order_id = created["createOrder"]["id"]
        pending = (await alices.next_payload("a"))["data"]["orderUpdated"]
        assert pending["id"] == order_id and pending["status"] == "PENDING"
        await _graphql(platform, COMPLETE_ORDER, {"id": order_id}, admin)
        completed = (await alices.next_payload("a"))["data"]["orderUpdated"]
        assert completed == {
            "id": order_id,
            "status": "COMPLETED",
            "items": [{"quantity": 2, "product": {"name": "Kettle", "stock": 5}}],
        }
        # Bob's first event is his own order: changes arrive in order, so none of Alice's
        # (made before it) was sent to him
        mine = await _graphql(
            platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 1}]}, bob
        )
        first = (await bobs.next_payload("b"))["data"]["orderUpdated"]
        assert first["id"] == mine["createOrder"]["id"] != order_id


async def test_over_sse_one_order_by_id_until_it_is_completed(platform: Platform) -> None:
    admin = platform.make_token("admin-1", "admin")
    carol = platform.make_token(f"carol-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, "Teapot")
    first = await _graphql(
        platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 1}]}, carol
    )
    other = await _graphql(
        platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 1}]}, carol
    )
    order_id = first["createOrder"]["id"]
    base = _subscribers(platform.orders, "orders")
    url = platform.gateway.base_url + "/graphql"
    async with sse_subscription(url, ORDER_UPDATED, {"id": order_id}, token=carol) as events:
        assert events.response.status_code == 200
        assert events.response.headers["content-type"].startswith("text/event-stream")
        await _live(platform.orders, "orders", base + 1)
        await _graphql(platform, COMPLETE_ORDER, {"id": other["createOrder"]["id"]}, admin)
        await _graphql(platform, COMPLETE_ORDER, {"id": order_id}, admin)
        event, data = await events.next_event()
        assert event == "next"
        assert data["data"]["orderUpdated"]["id"] == order_id  # the other order is not sent
        assert data["data"]["orderUpdated"]["status"] == "COMPLETED"
        assert data["data"]["orderUpdated"]["items"][0]["product"]["name"] == "Teapot"


async def test_an_anonymous_order_subscription_is_unauthenticated(platform: Platform) -> None:
    url = platform.gateway.base_url + "/graphql"
    async with graphql_ws(url) as anonymous:
        await anonymous.subscribe("1", ORDER_UPDATED)
        message = await anonymous.receive()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message
    async with sse_subscription(url, ORDER_UPDATED) as events:
        event, data = await events.next_event()
        assert event == "next" and data["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_in_connection_init_closes_the_connection(platform: Platform) -> None:
    url = platform.gateway.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:
        await socket.send('{"type": "connection_init", "payload": {"Authorization": "Bearer x"}}')
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_subscription_posted_without_an_event_stream_is_refused(
    platform: Platform,
) -> None:
    response = await asyncio.to_thread(platform.graphql, PRODUCT_UPDATED)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_many_subscribers_of_one_product_all_receive_its_stock_change(
    platform: Platform,
) -> None:
    admin = platform.make_token("admin-1", "admin")
    product = _product(platform, admin, "Lamp", stock=10)
    url = platform.gateway.base_url + "/graphql"
    base = _subscribers(platform.inventory, "products")
    opened = _open_at_gateway(platform.gateway)
    websockets = 12
    async with AsyncExitStack() as connections:
        shared = await connections.enter_async_context(graphql_ws(url))
        clients = [shared]
        for _ in range(websockets - 1):
            clients.append(await connections.enter_async_context(graphql_ws(url)))
        for number, client in enumerate(clients):  # the first connection, then one each
            await client.subscribe(f"s{number}", PRODUCT_UPDATED, {"id": product})
        await shared.subscribe("all", PRODUCT_UPDATED)  # every product, this one included
        sse = await connections.enter_async_context(
            sse_subscription(url, PRODUCT_UPDATED, {"id": product})
        )
        # anonymous, alike: one subgraph stream for the product, one for every product
        await _live(platform.inventory, "products", base + 2)
        await _open(platform.gateway, opened + websockets + 2)
        await _graphql(platform, UPDATE_PRODUCT, {"id": product, "input": {"stock": 3}}, admin)
        received = {}
        while len(received) < 2:  # the shared connection: its two subscriptions
            message = await shared.receive()
            assert message["type"] == "next", message
            received[message["id"]] = message["payload"]["data"]["productUpdated"]
        for number, client in enumerate(clients[1:], start=1):
            payload = await client.next_payload(f"s{number}")
            received[f"s{number}"] = payload["data"]["productUpdated"]
        event, data = await sse.next_event()
        assert event == "next", data
        received["sse"] = data["data"]["productUpdated"]
    expected = {"id": product, "name": "Lamp", "stock": 3}
    assert len(received) == websockets + 2
    assert all(value == expected for value in received.values()), received


async def test_a_slow_consumer_is_cut_off_while_others_keep_receiving(
    platform: Platform,
) -> None:
    """A client that stops reading: its socket fills, then its queue of 4 answers
    (PLATFORM_ENV), and the gateway closes it with 4008; a reading client gets every event."""
    admin = platform.make_token("admin-1", "admin")
    product = _product(platform, admin, "Rug", stock=1000)
    url = platform.gateway.base_url + "/graphql"
    ws_url = url.replace("http://", "ws://")
    base = _subscribers(platform.inventory, "products")
    opened = _open_at_gateway(platform.gateway)
    # a small receive buffer and no compression (the events are very compressible), so
    # that the client not reading shows soon
    address = urlsplit(platform.gateway.base_url)
    raw = socket.create_connection((address.hostname, address.port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # each event large (25 copies of a 5,000-character description: 125 kB), so that the
    # socket's buffers (a few MB at most) fill within a few dozen events
    updates = 70
    description = "x" * 5000
    copies = " ".join(f"d{n}: description" for n in range(25))
    selection = f"subscription($id: ID) {{ productUpdated(id: $id) {{ id stock {copies} }} }}"
    async with (
        connect(
            ws_url,
            sock=raw,
            subprotocols=[PROTOCOL],
            max_queue=1,
            compression=None,
            ping_interval=None,  # it would time out, as the client reads nothing
        ) as slow,
        graphql_ws(url) as reader,
    ):
        await slow.send('{"type": "connection_init"}')
        await slow.recv()
        subscribe = {"query": selection, "variables": {"id": product}}
        await slow.send(json.dumps({"id": "slow", "type": "subscribe", "payload": subscribe}))
        await reader.subscribe("r", selection, {"id": product})
        # alike and anonymous: one subgraph stream, each client its own queue
        await _live(platform.inventory, "products", base + 1)
        await _open(platform.gateway, opened + 2)
        cut_before = _slow_consumers_cut(platform.gateway)
        for stock in range(updates):
            await _graphql(
                platform,
                UPDATE_PRODUCT,
                {"id": product, "input": {"stock": stock, "description": description}},
                admin,
            )
            payload = await reader.next_payload("r")  # the reader keeps up, and gets each
            assert payload["data"]["productUpdated"]["stock"] == stock
            if _slow_consumers_cut(platform.gateway) > cut_before:
                break
        else:
            raise AssertionError(f"{updates} events of 125 kB did not fill the slow client")
        # the reader still receives after the cut
        await _graphql(platform, UPDATE_PRODUCT, {"id": product, "input": {"stock": 999}}, admin)
        payload = await reader.next_payload("r")
        assert payload["data"]["productUpdated"]["stock"] == 999
        # now the slow client reads: what was sent before the cut, then the close
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(updates + 1):
                await asyncio.wait_for(slow.recv(), 20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008


async def test_rest_order_events_stream_the_order_as_get_answers_it(platform: Platform) -> None:
    admin = platform.make_token("admin-1", "admin")
    dave = platform.make_token(f"dave-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, "Mug")
    created = await _graphql(
        platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 3}]}, dave
    )
    order_id = created["createOrder"]["id"]
    base = _subscribers(platform.orders, "orders")
    url = f"{platform.gateway.base_url}/orders/{order_id}/events"
    async with sse_subscription(url, token=dave, method="GET") as events:
        assert events.response.status_code == 200
        await _live(platform.orders, "orders", base + 1)
        await _graphql(platform, COMPLETE_ORDER, {"id": order_id}, admin)
        event, order = await events.next_event()
    answered = httpx.get(
        f"{platform.gateway.base_url}/orders/{order_id}",
        headers={"Authorization": f"Bearer {dave}"},
        timeout=10,
    ).json()
    assert event == "next"
    assert order == answered and order["status"] == "completed"
    assert order["items"][0]["name"] == "Mug" and order["items"][0]["quantity"] == 3


async def test_rest_order_events_of_an_unknown_or_unowned_order_are_refused(
    platform: Platform,
) -> None:
    admin = platform.make_token("admin-1", "admin")
    erin = platform.make_token(f"erin-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, "Bowl")
    created = await _graphql(
        platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 1}]}, admin
    )
    base = platform.gateway.base_url
    for path, token, status in (
        (f"/orders/{created['createOrder']['id']}/events", erin, 404),
        ("/orders/000000000000000000000000/events", erin, 404),
        (f"/orders/{created['createOrder']['id']}/events", None, 401),
    ):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await asyncio.to_thread(httpx.get, base + path, headers=headers, timeout=10)
        assert response.status_code == status, (path, response.text)


async def test_a_token_that_expires_while_subscribed_ends_the_subscription(
    platform: Platform,
) -> None:
    short = platform.make_token(f"fay-{uuid.uuid4().hex[:6]}", ttl=3)
    url = platform.gateway.base_url + "/graphql"
    async with graphql_ws(url, token=short) as client:
        await client.subscribe("1", ORDER_UPDATED)
        message = await client.receive(within=20)
        assert message["type"] == "next", message
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await client.receive())["type"] == "complete"


async def test_on_shutdown_subscriptions_end_with_a_code_that_says_reconnect(
    platform: Platform, service_env: dict[str, str], tmp_path: Path
) -> None:
    """A gateway of its own, over the module's subgraphs, stopped with SIGTERM while a
    WebSocket and an SSE subscription are open: both end at once, telling the client to
    reconnect, and the process leaves without waiting out its graceful-shutdown timeout."""
    gateway = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={**service_env, **subgraph_urls(platform.inventory, platform.orders)},
        log_path=tmp_path / "gateway.log",
    ).start()
    try:
        url = gateway.base_url + "/graphql"
        base = _subscribers(platform.inventory, "products")
        async with (
            graphql_ws(url) as websocket,
            sse_subscription(url, PRODUCT_UPDATED) as events,
        ):
            await websocket.subscribe("1", PRODUCT_UPDATED)
            await _live(platform.inventory, "products", base + 1)  # one stream for both
            await _open(gateway, 2)
            assert gateway.process is not None
            gateway.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await websocket.receive(within=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
            event, data = await events.next_event()
            assert event == "next" and data["errors"][0]["extensions"]["reconnect"] is True
            assert (await events.next_event())[0] == "complete"
        await asyncio.to_thread(gateway.process.wait, 15)
    finally:
        gateway.stop()


async def test_a_subgraph_that_goes_away_ends_the_subscription_with_a_coded_error(
    platform: Platform,
    service_env: dict[str, str],
    mongo_uri_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """An order subgraph and a gateway of their own: the subgraph stops while a client is
    subscribed; the client is told SERVICE_UNAVAILABLE, never left waiting in silence."""
    orders = ServiceProcess(
        "orders",
        "orders.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "ORDERS_MONGODB_URI": mongo_uri_factory("ord"),
            "INVENTORY_URL": platform.inventory.base_url,
        },
        log_path=tmp_path / "orders.log",
    ).start()
    gateway = None
    try:
        gateway = ServiceProcess(
            "gateway",
            "gateway.entrypoints.app:create_app",
            free_port(),
            env={**service_env, **subgraph_urls(platform.inventory, orders)},
            log_path=tmp_path / "gateway.log",
        ).start()
        customer = platform.make_token(f"gus-{uuid.uuid4().hex[:6]}")
        async with graphql_ws(gateway.base_url + "/graphql", token=customer) as client:
            await client.subscribe("1", ORDER_UPDATED)
            await _live(orders, "orders", 1)
            await asyncio.to_thread(orders.stop)
            message = await client.receive(within=20)
            assert message["type"] == "next", message
            error = message["payload"]["errors"][0]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
            assert (await client.receive())["type"] == "complete"
    finally:
        if gateway is not None:
            gateway.stop()
        orders.stop()


async def test_a_subgraph_restart_mid_subscription_loses_no_event(
    platform: Platform,
    service_env: dict[str, str],
    mongo_uri_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """An order subgraph and a gateway of their own. A customer is subscribed and has
    received an event (with it the gateway has its position); the subgraph stops, the order
    changes while it is down, the subgraph starts again: the client receives that change
    (joined with the inventory, as every event), then the live ones, each once, and no
    error: the gateway opened the stream again from the position it had."""
    orders_db = mongo_uri_factory("ord")
    orders_env = {
        **service_env,
        "ORDERS_MONGODB_URI": orders_db,
        "INVENTORY_URL": platform.inventory.base_url,
    }
    port = free_port()

    def orders_process() -> ServiceProcess:
        return ServiceProcess(
            "orders",
            "orders.entrypoints.app:create_app",
            port,
            env=orders_env,
            log_path=tmp_path / "orders.log",
        )

    orders = orders_process().start()
    gateway = None
    try:
        gateway = ServiceProcess(
            "gateway",
            "gateway.entrypoints.app:create_app",
            free_port(),
            env={
                **service_env,
                **subgraph_urls(platform.inventory, orders),
                "GATEWAY_SUBSCRIPTION_RESUME_SECONDS": "90",
            },
            log_path=tmp_path / "gateway.log",
        ).start()
        admin = platform.make_token("admin-1", "admin")
        product = _product(platform, admin, "Kettle")
        customer = platform.make_token(f"rita-{uuid.uuid4().hex[:6]}")

        async def place() -> str:
            response = await asyncio.to_thread(
                httpx.post,
                gateway.base_url + "/graphql",
                json={
                    "query": CREATE_ORDER,
                    "variables": {"items": [{"productId": product, "quantity": 1}]},
                },
                headers={"Authorization": f"Bearer {customer}"},
                timeout=30,
            )
            return str(_ok(response)["createOrder"]["id"])

        async with graphql_ws(gateway.base_url + "/graphql", token=customer) as client:
            await client.subscribe("1", ORDER_UPDATED)
            await _live(orders, "orders", 1)
            first = await place()
            seen = (await client.next_payload("1", within=20))["data"]["orderUpdated"]
            assert (seen["id"], seen["status"]) == (first, "PENDING")

            await asyncio.to_thread(orders.stop)
            # changed while the subgraph is down: only its change stream can tell of it
            await asyncio.to_thread(_set_status, orders_db, first, "cancelled")
            orders = orders_process().start()

            changed = (await client.next_payload("1", within=90))["data"]["orderUpdated"]
            assert (changed["id"], changed["status"]) == (first, "CANCELLED")
            assert changed["items"][0]["product"]["name"] == "Kettle"
            await _live(orders, "orders", 1)
            second = await place()  # live, after the hand-over to the shared stream
            after = (await client.next_payload("1", within=20))["data"]["orderUpdated"]
            assert (after["id"], after["status"]) == (second, "PENDING")
            with pytest.raises(TimeoutError):  # nothing twice, no error after it
                await client.receive(within=2)
    finally:
        if gateway is not None:
            gateway.stop()
        orders.stop()


def _set_status(database_uri: str, order_id: str, status: str) -> None:
    from bson import ObjectId
    from pymongo import MongoClient

    with MongoClient(database_uri) as client:
        collection = client.get_default_database()["orders"]
        keys: list[Any] = [order_id, *([ObjectId(order_id)] if ObjectId.is_valid(order_id) else [])]
        updated = collection.update_one({"_id": {"$in": keys}}, {"$set": {"status": status}})
        assert updated.modified_count == 1, order_id


async def test_a_query_over_the_websocket_runs_as_the_connection_init_caller(
    platform: Platform,
) -> None:
    admin = platform.make_token("admin-1", "admin")
    hal = platform.make_token(f"hal-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, "Vase")
    created = await _graphql(
        platform, CREATE_ORDER, {"items": [{"productId": product, "quantity": 1}]}, hal
    )
    order_id = created["createOrder"]["id"]
    async with graphql_ws(platform.gateway.base_url + "/graphql", token=hal) as client:
        await client.subscribe("q", "query($id: ID!) { order(id: $id) { id } }", {"id": order_id})
        payload = await client.next_payload("q")
        assert payload["data"]["order"] == {"id": order_id}
        assert (await client.receive())["type"] == "complete"
