"""Where a gateway's bytes per open subscription go: tracemalloc in the gateway process,
a snapshot before and after N WebSocket subscriptions open, the difference grouped by
where it was allocated.

Starts its own stack on free loopback ports (SecantusDB in memory, both subgraphs, one
gateway under tracemalloc: slower, so this is a memory probe, not a benchmark), opens one
warm-up connection (lazy imports, caches), snapshots, opens SUBSCRIPTIONS connections from a
client process (PER_CONNECTION subscriptions each, on PRODUCTS products), waits until every
subscription received an event, snapshots again, and prints the RSS and traced bytes per
subscription and the top allocation sites.

    .venv/bin/python tools/probe_subscription_memory.py [--subscriptions 1000]
        [--products 1000] [--per-connection 1] [--frames 6] [--top 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import signal
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_subscriptions as bench

from platform_devkit.processes import LocalMongo, ServiceProcess, free_port
from platform_devkit.stack import start_platform
from platform_kit.auth import Role, issue_token

# the gateway runs uvicorn under this: SIGUSR2 writes a tracemalloc snapshot to the file
# named by PROBE_SNAPSHOT (then renames it, so the reader never sees half a file)
WRAPPER = """
import gc, os, signal, sys, tracemalloc
def dump(*_):
    gc.collect()
    path = os.environ["PROBE_SNAPSHOT"]
    tracemalloc.take_snapshot().dump(path + ".tmp")
    os.replace(path + ".tmp", path)
signal.signal(signal.SIGUSR2, dump)
import uvicorn.main
sys.argv = ["uvicorn", *sys.argv[1:]]
uvicorn.main.main()
"""


def _snapshot(pid: int, path: Path) -> tracemalloc.Snapshot:
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 300
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("no snapshot from the gateway")
        time.sleep(0.2)
    return tracemalloc.Snapshot.load(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--per-connection", type=int, default=1)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the gateway")
    args = parser.parse_args(argv)
    secret = secrets.token_urlsafe(48)
    logs = bench.ROOT / ".data" / "probe-logs"
    logs.mkdir(parents=True, exist_ok=True)
    snapshot_path = logs / f"snapshot-{os.getpid()}"
    env = {
        "AUTH_JWT_SECRET": secret,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_BUDGET_RESTORE_RATE": "1e12",
        "GATEWAY_SUBSCRIPTION_MAX_CONNECTIONS": "20000",
        "GATEWAY_SUBSCRIPTION_MAX_PER_CLIENT": "20000",
        "GATEWAY_SUBSCRIPTION_SHARED_FIELDS": "productUpdated",
        "SUBSCRIPTION_MAX_PER_CONNECTION": "100000",
        **dict(item.split("=", 1) for item in args.env),
    }
    database = LocalMongo(free_port(), ":memory:", log_path=logs / "db.log").start()
    processes: list[Any] = [database]

    def launch(process: ServiceProcess) -> None:
        if process.name == "gateway":
            at = process.argv.index("-m")
            process.argv[at : at + 2] = ["-c", WRAPPER]
            process.env["PYTHONTRACEMALLOC"] = str(args.frames)
            process.env["PROBE_SNAPSHOT"] = str(snapshot_path)
        processes.append(process.start(timeout=120))

    try:
        platform = start_platform(
            env,
            inventory_uri=database.uri + "/inv",
            orders_uri=database.uri + "/ord",
            logs=logs,
            launch=launch,
        )
        assert platform.gateway.process is not None
        gateway_pid = platform.gateway.process.pid
        tag = f"Probed {secrets.token_hex(4)}"
        asyncio.run(bench._import_products(database.uri + "/inv", tag, args.products, secret))
        with MongoClient(database.uri + "/inv", retryWrites=False) as mongo:
            products = mongo.get_default_database()["products"]
            ids = [str(d["_id"]) for d in products.find({"name": {"$regex": f"^{tag} "}})]
            ws_url = platform.gateway.base_url.replace("http://", "ws://") + "/graphql"

            def open_clients(count: int, per: int) -> tuple[Any, Any]:
                jobs = [
                    (
                        issue_token(f"probe-{n}", Role.CUSTOMER, secret),
                        [ids[k % len(ids)] for k in range(n, min(n + per, count))],
                    )
                    for n in range(0, count, per)
                ]
                ours, theirs = multiprocessing.Pipe()
                worker = multiprocessing.Process(
                    target=bench._clients_process, args=(ws_url, jobs, theirs)
                )
                worker.start()
                if not ours.poll(600):
                    raise RuntimeError("the subscriptions did not open")
                ours.recv()
                return worker, ours

            def warm(pipe: Any, count: int) -> None:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    with ThreadPoolExecutor(8) as writers:
                        for product in ids:
                            writers.submit(
                                products.update_one,
                                {"_id": ObjectId(product)},
                                {"$inc": {"stock": 1}},
                            )
                    time.sleep(2)
                    pipe.send("warm")
                    _, received, closed, other = pipe.recv()
                    if closed or other:
                        raise RuntimeError(f"ended during warm-up: {closed} {other}")
                    if received >= count:
                        return
                raise RuntimeError("not every subscription received its event")

            # one connection first: imports, caches and pools made once are not counted
            first, first_pipe = open_clients(1, 1)
            warm(first_pipe, 1)
            time.sleep(1)
            rss_before = bench._rss_kib(gateway_pid)
            before = _snapshot(gateway_pid, snapshot_path)
            worker, pipe = open_clients(args.subscriptions, args.per_connection)
            warm(pipe, args.subscriptions)
            time.sleep(2)
            rss_after = bench._rss_kib(gateway_pid)
            after = _snapshot(gateway_pid, snapshot_path)
            for child in (worker, first):
                child.terminate()
    finally:
        for process in reversed(processes):
            process.stop()
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(filters), after.filter_traces(filters)
    n = args.subscriptions
    traced = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(
        f"subscriptions {n}, per connection {args.per_connection}, products {args.products}\n"
        f"RSS {(rss_after - rss_before) / n:.1f} KiB per subscription; "
        f"traced {traced / n / 1024:.1f} KiB per subscription"
    )
    print("\nby file:")
    for stat in after.compare_to(before, "filename")[: args.top]:
        print(f"{stat.size_diff / n:9.0f} B  {stat.count_diff / n:6.1f} blocks  {stat.traceback}")
    print("\nby line:")
    for stat in after.compare_to(before, "lineno")[: args.top]:
        print(f"{stat.size_diff / n:9.0f} B  {stat.count_diff / n:6.1f} blocks  {stat.traceback}")
    print("\nby traceback (top 15):")
    for stat in after.compare_to(before, "traceback")[:15]:
        print(f"{stat.size_diff / n:9.0f} B  {stat.count_diff / n:6.1f} blocks")
        for line in stat.traceback.format()[-2 * args.frames :]:
            print("      " + line)
    snapshot_path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
