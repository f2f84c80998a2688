"""The gateway's memory through a flood of distinct large valid documents (issue 18: 400 such
documents once grew it to 740 MB). Starts its own stack (SecantusDB in memory, both
subgraphs, the gateway), sends DOCUMENTS distinct documents near the token limit, each a
few selection sets of 99 conditional fragments, and prints the gateway's resident memory
(VmRSS) and CPU time as it goes, with budgets and the share for new documents out of the way
(they are what stops one client from sending so many: this measures the cache behind them).
`.venv/bin/python tools/probe_document_flood.py [N]`."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from platform_devkit.processes import LocalMongo, free_port
from platform_devkit.stack import start_platform

ROOT = Path(__file__).resolve().parent.parent
FRAGMENT = "...{ name @include(if: $c0) }"


def document(number: int, sets: int = 3, width: int = 99) -> str:
    fragments = " ".join([FRAGMENT] * width)
    body = " ".join(
        f"a{i}: products(limit: 1) {{ items {{ id {fragments} }} }}" for i in range(sets)
    )
    return f"query($c0: Boolean = true) {{ {body} }} # {number}"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def main(documents: int) -> None:
    env = {
        "AUTH_JWT_SECRET": secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
        # what is measured is what the cache keeps: one client sending a thousand new
        # documents would be stopped by its budget and the share for new documents first
        # (as it should be), and the probe would measure those instead
        "GATEWAY_PREPARATION_POINTS_PER_MS": "0",
        "GATEWAY_PREPARATION_SHARE": "1",
        "GATEWAY_PREPARATION_BURST_SECONDS": "60",
        "GATEWAY_BUDGET_MAXIMUM": "1000000",
        "GATEWAY_BUDGET_RESTORE_RATE": "1000000",
    }
    logs = ROOT / ".data" / "probe-logs"
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
        gateway = platform.gateway
        pid = gateway.process.pid
        print(f"{'documents':>10}{'RSS MB':>10}{'CPU s':>8}{'statuses':>30}")
        print(f"{0:>10}{_rss_mb(pid):>10.0f}{_cpu_seconds(pid):>8.1f}")
        statuses: dict[int, int] = {}
        started = time.monotonic()
        with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
            for number in range(1, documents + 1):
                answer = client.post("/graphql", json={"query": document(number)})
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if number % 100 == 0:
                    print(
                        f"{number:>10}{_rss_mb(pid):>10.0f}{_cpu_seconds(pid):>8.1f}"
                        f"{statuses!s:>30}"
                    )
        print(f"{time.monotonic() - started:.0f} s; {len(document(0))} bytes a document")
    finally:
        for process in reversed(processes):
            process.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
