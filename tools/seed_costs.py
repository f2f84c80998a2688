"""What `make seed N=...` costs, measured apart from any running stack: starts a fresh
SecantusDB on a scratch directory, loads a generated catalog through the inventory's bulk
import (tools/seed.py), and prints the wall time, the CPU seconds the database and this
process spent, and the load average around it (on a shared machine the CPU seconds are the
number to compare; the wall time follows the load).

    .venv/bin/python tools/seed_costs.py 100000
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from seed import bulk_seed

from inventory.settings import InventorySettings
from platform_devkit.processes import LocalMongo, free_port


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with (
        tempfile.TemporaryDirectory(prefix="seed-costs-") as storage,
        LocalMongo(free_port(), storage) as database,
    ):
        assert database.process is not None
        settings = InventorySettings(INVENTORY_MONGODB_URI=database.uri + "/inventory")
        load_before = os.getloadavg()[0]
        database_before = cpu_seconds(database.process.pid)
        ours_before = time.process_time()
        started = time.perf_counter()
        added = asyncio.run(bulk_seed(count, settings))
        took = time.perf_counter() - started
        database_cpu = cpu_seconds(database.process.pid) - database_before
        ours = time.process_time() - ours_before
        print(
            f"{added} products in {took:.1f} s; CPU: database {database_cpu:.1f} s, "
            f"importer {ours:.1f} s; load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
