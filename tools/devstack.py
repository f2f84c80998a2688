"""`make run`: the whole platform on one machine, in the foreground, until Ctrl-C.

Starts the local database (SecantusDB) unless both subgraphs are given a MongoDB URI, then the
inventory subgraph, the order subgraph and the gateway, each as its own uvicorn process writing
its logs to this terminal (the children share this stdout, so LOG_FORMAT=auto gives short lines
on a terminal and JSON lines when the output is redirected). Ctrl-C (or SIGTERM) stops
everything it started, newest first; the children also die with this process if it is killed,
so no process or port is left behind.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from platform_devkit.processes import LocalMongo, ManagedProcess
from platform_devkit.stack import start_platform

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("STACK_DATA_DIR", ROOT / ".data"))


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def ensure_jwt_secret() -> None:
    """The environment wins; otherwise a random development secret kept under .data/."""
    if os.environ.get("AUTH_JWT_SECRET"):
        return
    path = Path(os.environ.get("AUTH_JWT_SECRET_FILE", DATA / "jwt-secret"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48) + "\n")
        path.chmod(0o600)
    os.environ["AUTH_JWT_SECRET_FILE"] = str(path.resolve())


class Stack:
    def __init__(self) -> None:
        self.started: list[ManagedProcess] = []

    def start(self, process: ManagedProcess) -> None:
        print(f"starting {process.name} ...", flush=True)
        self.started.append(process)
        process.start()

    def stop(self) -> None:
        for process in reversed(self.started):
            print(f"stopping {process.name} ...", flush=True)
            process.stop()
        self.started.clear()

    def first_dead(self) -> ManagedProcess | None:
        return next((p for p in self.started if not p.running), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", action="store_true", help="load the demo catalog")
    args = parser.parse_args(argv)

    ensure_jwt_secret()
    host = os.environ.get("HOST", "127.0.0.1")
    ports = {
        "inventory": _port("INVENTORY_PORT", 8001),
        "orders": _port("ORDERS_PORT", 8002),
        "gateway": _port("GATEWAY_PORT", 8000),
    }
    mongo_port = _port("MONGO_PORT", 27017)

    stack = Stack()
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        inventory_uri = os.environ.get("INVENTORY_MONGODB_URI")
        orders_uri = os.environ.get("ORDERS_MONGODB_URI")
        if not (inventory_uri and orders_uri):
            database = LocalMongo(mongo_port, str(DATA / "mongo"), inherit_output=True)
            (DATA / "mongo").mkdir(parents=True, exist_ok=True)
            stack.start(database)
            inventory_uri = inventory_uri or f"{database.uri}/inventory"
            orders_uri = orders_uri or f"{database.uri}/orders"
        platform = start_platform(
            {},
            inventory_uri=inventory_uri,
            orders_uri=orders_uri,
            ports=ports,
            host=host,
            inherit_output=True,
            launch=stack.start,
        )
        if args.seed:
            subprocess.run(
                [sys.executable, str(ROOT / "tools" / "seed.py")],
                env={**os.environ, "SEED_GRAPHQL_URL": f"{platform.inventory.base_url}/graphql"},
                check=False,
            )
        print(
            f"\nReady. Gateway: {platform.gateway.base_url}  "
            f"(GraphiQL at /graphql, REST docs at /docs)\n"
            f"Dev token: make token SUB=alice ROLE=customer  (or ROLE=admin)\n"
            f"Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            dead = stack.first_dead()
            if dead is not None:
                print(f"{dead.name} exited; stopping the stack", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.2)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start the stack: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
