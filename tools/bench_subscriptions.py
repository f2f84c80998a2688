"""`make bench` (subscriptions row): many concurrent subscriptions on one gateway process,
database write -> client delivery latency, delivered events/s per gateway core, and gateway
memory per open subscription.

Method: starts its own stack on free loopback ports (SecantusDB in memory, both subgraphs and
one gateway, one uvicorn worker each), creates PRODUCTS products, then opens SUBSCRIPTIONS
WebSocket connections (graphql-transport-ws), each one signed-in customer of its own (a
token each) with one `productUpdated(id:)` subscription on one product (spread evenly), from
LOAD_PROCESSES client processes. The gateway's memory (RSS) is read before and after they
open. A warm-up write to each product checks every subscription is live (each receives its
event). Then a writer updates products directly in the database at RATE writes/s for
SECONDS (round robin over the products), each write carrying its wall-clock time in the
product's name; each client computes, per event, now - that time: the whole way from the
database write through the change stream, the inventory subgraph, the gateway, to the
client. Every write reaches SUBSCRIPTIONS / PRODUCTS subscribers, so the gateway delivers
RATE * SUBSCRIPTIONS / PRODUCTS events/s. The gateway's CPU time over the window gives
events/s per core.

The clients and the writer are pinned to the first core, the servers to the others (as
tools/bench.py does); on a shared machine compare rows of one run.

    .venv/bin/python tools/bench_subscriptions.py [--subscriptions 1000] [--products 100]
        [--rate 200] [--seconds 20] [--gateway-url URL --mongo-uri URI]  (an existing stack)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from bson import ObjectId
from pymongo import MongoClient
from pymongo.collection import Collection

from inventory.bootstrap import bootstrap
from inventory.domain.product import NewProduct
from inventory.settings import InventorySettings
from platform_devkit.processes import LocalMongo, free_port
from platform_devkit.stack import start_platform
from platform_kit.auth import Principal, Role, issue_token

ROOT = Path(__file__).resolve().parent.parent
CPUS = sorted(os.sched_getaffinity(0))
LOAD_CPUS = CPUS[:1]
SERVER_CPUS = CPUS[1:] or CPUS
QUERY = "subscription($id: ID) { productUpdated(id: $id) { id name stock } }"
WRITERS = 8  # writes in flight at most
MARK = "bench:"  # a product name carrying the time of its write, in ns


def _tree(pid: int) -> list[int]:
    """The process and its descendants (a gateway that forks workers counts them all)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def _rss_kib(pid: int) -> int:
    total = 0
    for member in _tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _cpu_seconds(pid: int) -> float:
    total = 0
    for member in _tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# -- client processes ---------------------------------------------------------------------


async def _client(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    products: list[str],
    opened: asyncio.Event,
    state: dict[str, Any],
) -> None:
    async with session.ws_connect(url, protocols=("graphql-transport-ws",), max_msg_size=0) as ws:
        await ws.send_str(
            orjson.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            ).decode()
        )
        ack = orjson.loads((await ws.receive(timeout=60)).data)
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no ack: {ack}")
        for number, product in enumerate(products):
            payload = {"query": QUERY, "variables": {"id": product}}
            subscribe = {"id": str(number), "type": "subscribe", "payload": payload}
            await ws.send_str(orjson.dumps(subscribe).decode())
        state["opened"] += 1
        if state["opened"] == state["total"]:
            opened.set()
        latencies: list[float] = state["latencies"]
        warmed: set[str] = set()
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            now = time.time_ns()
            body = orjson.loads(message.data)
            kind = body.get("type")
            if kind == "next":
                data = body["payload"].get("data")
                if not data:  # an error: counted, and this client ends
                    state["other"].append(body)
                    break
                name = data["productUpdated"]["name"]
                if name.startswith(MARK):
                    if state["measuring"]:
                        latencies.append((now - int(name[len(MARK) :])) / 1e6)
                elif body["id"] not in warmed:  # this subscription is live
                    warmed.add(body["id"])
                    state["warm"] += 1
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
            else:
                state["other"].append(body)
                break
    state["closed"] += 1


async def _clients_main(url: str, jobs: list[tuple[str, list[str]]], pipe: Any) -> None:
    state: dict[str, Any] = {
        "opened": 0,
        "total": len(jobs),
        "warm": 0,
        "measuring": False,
        "latencies": [],
        "other": [],
        "closed": 0,
    }
    opened = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        for n, (token, products) in enumerate(jobs):
            tasks.append(asyncio.create_task(_client(session, url, token, products, opened, state)))
            if n % 100 == 99:
                await asyncio.sleep(0.05)  # a ramp, not a SYN flood
        await opened.wait()
        pipe.send(("opened", len(jobs)))
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "warm":
                pipe.send(("warm", state["warm"], state["closed"], state["other"][:3]))
            elif command == "measure":
                state["measuring"] = True
                pipe.send(("measuring",))
            elif command == "stop":
                state["measuring"] = False
                pipe.send(("latencies", state["latencies"], state["closed"], state["other"][:3]))
                break
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _clients_process(url: str, jobs: list[tuple[str, list[str]]], pipe: Any) -> None:
    os.sched_setaffinity(0, LOAD_CPUS)
    asyncio.run(_clients_main(url, jobs, pipe))


# -- the run ------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _import_products(mongo_uri: str, tag: str, count: int, secret: str) -> None:
    services = bootstrap(
        InventorySettings(
            INVENTORY_MONGODB_URI=mongo_uri, AUTH_JWT_SECRET=secret, LOG_LEVEL="WARNING"
        )
    )
    admin = Principal(sub="bench-admin", role=Role.ADMIN)
    try:
        await services.start()
        products = (
            NewProduct.create(name=f"{tag} {n}", price=Decimal("1.00"), stock=1000)
            for n in range(count)
        )
        await services.products.import_many(admin, products)
    finally:
        await services.close()


def run(
    gateway_url: str,
    gateway_pid: int,
    servers: dict[str, int],
    mongo_uri: str,
    inventory_url: str,
    secret: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    # the products imported in bulk through the inventory's own use case (a batch a write),
    # not created one request at a time: thousands in seconds, whatever the database's
    # per-write costs
    tag = f"Watched {secrets.token_hex(4)}"
    asyncio.run(_import_products(mongo_uri, tag, args.products, secret))
    reading: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri) as reading:
        watched: Collection[dict[str, Any]] = reading.get_default_database()["products"]
        query = {"name": {"$regex": f"^{tag} "}}
        product_ids = [str(document["_id"]) for document in watched.find(query, {"_id": 1})]
    if len(product_ids) != args.products:
        raise RuntimeError(f"{len(product_ids)} products imported of {args.products}")
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, retryWrites=False)
    products = mongo.get_default_database()["products"]

    keys = [ObjectId(p) if ObjectId.is_valid(p) else p for p in product_ids]

    ws_url = gateway_url.replace("http://", "ws://") + "/graphql"
    # subscription n watches product n % PRODUCTS; a connection carries PER_CONNECTION of
    # them (a page's client multiplexes its subscriptions on one WebSocket)
    per = args.per_connection
    jobs = [
        (
            issue_token(f"watcher-{n}", Role.CUSTOMER, secret),
            [product_ids[k % args.products] for k in range(n, min(n + per, args.subscriptions))],
        )
        for n in range(0, args.subscriptions, per)
    ]
    rss_before = _rss_kib(gateway_pid)
    pipes = []
    workers = []
    share = -(-len(jobs) // args.load_processes)
    started = time.perf_counter()
    for k in range(args.load_processes):
        ours, theirs = multiprocessing.Pipe()
        worker = multiprocessing.Process(
            target=_clients_process, args=(ws_url, jobs[k * share : (k + 1) * share], theirs)
        )
        worker.start()
        pipes.append(ours)
        workers.append(worker)
    try:
        for pipe in pipes:
            if not pipe.poll(300):
                raise RuntimeError("the subscriptions did not all open in 300 s")
            pipe.recv()
        open_seconds = time.perf_counter() - started
        # warm-up: one write per product until every subscription has received one
        deadline = time.monotonic() + 120
        warm = 0
        while time.monotonic() < deadline:
            with ThreadPoolExecutor(WRITERS) as writers:
                for key in keys:
                    writers.submit(products.update_one, {"_id": key}, {"$inc": {"stock": 1}})
            time.sleep(2)
            warm = 0
            for pipe in pipes:
                pipe.send("warm")
                _, received, closed, other = pipe.recv()
                if closed or other:
                    raise RuntimeError(f"subscriptions ended during warm-up: {closed} {other}")
                warm += received
            if warm >= args.subscriptions:
                break
        live_seconds = time.perf_counter() - started
        time.sleep(1)
        rss_after = _rss_kib(gateway_pid)
        for pipe in pipes:
            pipe.send("measure")
            pipe.recv()
        cpu_start = _cpu_seconds(gateway_pid)
        others_start = {name: _cpu_seconds(pid) for name, pid in servers.items()}
        clients_start = sum(_cpu_seconds(worker.pid or 0) for worker in workers)
        wall_start = time.perf_counter()
        interval = 1.0 / args.rate
        writes = 0
        next_at = time.perf_counter()
        end_at = next_at + args.seconds

        def write(key: Any) -> None:
            # the time of the write is taken as it is sent: the database's own time counts
            products.update_one({"_id": key}, {"$set": {"name": f"{MARK}{time.time_ns()}"}})

        # writes on a schedule, several in flight: the rate does not wait for each round trip
        with ThreadPoolExecutor(WRITERS) as writers:
            while next_at < end_at:
                writers.submit(write, keys[writes % len(keys)])
                writes += 1
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        write_seconds = time.perf_counter() - wall_start
        time.sleep(2)  # the last events on their way
        cpu = _cpu_seconds(gateway_pid) - cpu_start
        others_cpu = {name: _cpu_seconds(pid) - others_start[name] for name, pid in servers.items()}
        clients_cpu = sum(_cpu_seconds(worker.pid or 0) for worker in workers) - clients_start
        wall = time.perf_counter() - wall_start
        latencies: list[float] = []
        ended = 0
        others: list[Any] = []
        for pipe in pipes:
            pipe.send("stop")
            _, got, closed, other = pipe.recv()
            latencies += got
            ended += closed
            others += other
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
        mongo.close()
    expected = sum(
        len(range(i, args.subscriptions, args.products)) * len(range(i, writes, args.products))
        for i in range(args.products)
    )
    return {
        "subscriptions": args.subscriptions,
        "per_connection": args.per_connection,
        "products": args.products,
        "writes": writes,
        "write_rate": round(writes / write_seconds, 1),
        "live_before_measuring": warm,  # subscriptions that had received the warm-up event
        "expected_events": expected,
        "delivered_events": len(latencies),
        "ended_early": ended,
        "errors": others[:3],
        "p50_ms": round(_percentile(latencies, 0.5), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "delivered_per_s": round(len(latencies) / wall, 1),
        "gateway_cpu_share": round(cpu / wall, 3),
        "other_cpu_shares": {name: round(used / wall, 3) for name, used in others_cpu.items()},
        # the clients' processes, all on LOAD_CPUS: near 1.0 means the load generator, not
        # the gateway, set the pace
        "clients_cpu_share": round(clients_cpu / wall, 3),
        "events_per_core_s": round(len(latencies) / cpu, 1) if cpu else None,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "kib_per_subscription": round((rss_after - rss_before) / args.subscriptions, 2),
        "open_seconds": round(open_seconds, 1),
        "all_live_seconds": round(live_seconds, 1),
        "load_average": os.getloadavg(),
    }


HIVE_CONFIG = """// written by tools/bench_subscriptions.py: subscriptions to the subgraphs over
// WebSocket (graphql-transport-ws at their /graphql), as our gateway opens them
export const gatewayConfig = {
  transportEntries: {
    "*.http": { options: { subscriptions: { kind: "ws", location: "/graphql" } } },
  },
};
"""


class _Hive:
    """Hive Gateway (the CLI of the gateway-bench folder) on our supergraph, one worker."""

    def __init__(self, folder: Path, port: int, supergraph: Path, config: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        command = [
            str(folder / "node_modules" / ".bin" / "hive-gateway"),
            "supergraph",
            str(supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--fork",
            "1",
            "-c",
            str(config),
        ]
        log = (ROOT / ".data" / "bench-logs" / "hive.log").open("w")
        self.process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        self.pid = self.process.pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    self.base_url + "/graphql", json={"query": "{__typename}"}, timeout=2
                )
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError("Hive Gateway did not start: see .data/bench-logs/hive.log")
        for member in _tree(self.pid):
            os.sched_setaffinity(member, SERVER_CPUS)

    def stop(self) -> None:
        for member in reversed(_tree(self.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()


def _start_hive(folder: Path, inventory_url: str, orders_url: str) -> _Hive:
    sdl = (ROOT / "gateway" / "supergraph.graphql").read_text()
    sdl = sdl.replace("http://localhost:8001/graphql", inventory_url + "/graphql")
    sdl = sdl.replace("http://localhost:8002/graphql", orders_url + "/graphql")
    supergraph = ROOT / ".data" / "bench-hive-supergraph.graphql"
    supergraph.write_text(sdl)
    config = folder / "bench-subscriptions.config.mjs"
    config.write_text(HIVE_CONFIG)
    return _Hive(folder.resolve(), free_port(), supergraph, config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--per-connection", type=int, default=1)
    parser.add_argument(
        "--hive",
        type=Path,
        help="a copy of ../shared/gateway-bench with `npm ci` run: the same workload through "
        "Hive Gateway on the same subgraphs (subscriptions to them over graphql-transport-ws)",
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="then the same workload subscribed at the inventory subgraph itself (no gateway)",
    )
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the gateway")
    args = parser.parse_args(argv)
    secret = secrets.token_urlsafe(48)
    env = {
        "AUTH_JWT_SECRET": secret,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_BUDGET_RESTORE_RATE": "1e12",
        "GATEWAY_SUBSCRIPTION_MAX_CONNECTIONS": "20000",
        "GATEWAY_SUBSCRIPTION_MAX_PER_CLIENT": "20000",
        # every event is watched here: no client misses a change for lack of a reader
        "GATEWAY_SUBSCRIPTION_QUEUE_SIZE": "256",
        # the subgraphs: Hive Gateway multiplexes every subscription on one connection per
        # subgraph (ours at most 100 a connection), past Strawberry's default of 100
        "SUBSCRIPTION_MAX_PER_CONNECTION": "100000",
        **dict(item.split("=", 1) for item in args.env),
    }
    logs = ROOT / ".data" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    database = LocalMongo(free_port(), ":memory:", log_path=logs / "db.log").start()
    processes: list[Any] = [database]
    try:
        platform = start_platform(
            env,
            inventory_uri=database.uri + "/inv",
            orders_uri=database.uri + "/ord",
            logs=logs,
            launch=lambda process: processes.append(process.start()),
        )
        for process in processes:
            if process.process is not None:
                os.sched_setaffinity(process.process.pid, SERVER_CPUS)
        os.sched_setaffinity(0, LOAD_CPUS)
        pids = {
            name: process.process.pid
            for name, process in (
                ("gateway", platform.gateway),
                ("database", database),
                ("inventory", platform.inventory),
                ("orders", platform.orders),
            )
            if process.process is not None
        }
        gateway_pid = pids.pop("gateway")
        result = run(
            platform.gateway.base_url,
            gateway_pid,
            pids,
            database.uri + "/inv",
            platform.inventory.base_url,
            secret,
            args,
        )
        results = {"ours": result}
        if args.direct:
            # the same workload with the inventory subgraph itself as the server: the way
            # from the database to the subgraph's clients, without the gateway; the
            # difference to "ours" is the gateway's share of the latency
            inventory_pid = pids.pop("inventory")
            results["subgraph_direct"] = run(
                platform.inventory.base_url,
                inventory_pid,
                pids,
                database.uri + "/inv",
                platform.inventory.base_url,
                secret,
                args,
            )
            pids["inventory"] = inventory_pid
        if args.hive:
            hive = _start_hive(args.hive, platform.inventory.base_url, platform.orders.base_url)
            processes.append(hive)
            results["hive"] = run(
                hive.base_url,
                hive.pid,
                pids,
                database.uri + "/inv",
                platform.inventory.base_url,
                secret,
                args,
            )
            ours, theirs = results["ours"], results["hive"]
            if ours["events_per_core_s"] and theirs["events_per_core_s"]:
                results["ours_over_hive_events_per_core"] = round(
                    ours["events_per_core_s"] / theirs["events_per_core_s"], 2
                )
    finally:
        for process in reversed(processes):
            process.stop()
    print(json.dumps(results, indent=2))
    out = ROOT / ".data" / "bench-subscriptions.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
