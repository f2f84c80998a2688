"""Capacity probe (issue 18): an anonymous flood of expensive GraphQL while another client
reads the catalog, and how the catalog fares before, during and after it.

    .venv/bin/python tools/flood.py --gateway http://127.0.0.1:18000 --seed 2000
    .venv/bin/python tools/flood.py --gateway http://127.0.0.1:18000 --flood-seconds 20

The flood: `--connections` connections from each of `--clients` addresses (127.0.1.1,
127.0.1.2, ...), each connection sending, back to back, one query
of `--aliases` aliased `products(limit: 1, offset: <random>) { total }` (nothing cached).
The probe: `--probe-clients` ordinary clients (127.0.2.1, ...), each sending `GET /products`
one at a time, `--probe-pause` s apart: a person's pace, within the budget every client has
(a client looping back to back would be throttled by its own budget, and measure that).
Loopback only. The seed (optional) creates products with an admin token minted from the
configured secret (AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE).

The flood runs in a process of its own, at `--flood-nice` (19): on one machine with the
services, the flooders' own CPU would otherwise be taken from the services (an attacker's
CPU is its own), and their event loop would delay the probe's, which then measures the
load generator rather than the platform."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import aiohttp

from platform_kit.auth import Role, issue_token
from platform_kit.settings import ServiceSettings

CREATE = "mutation Seed($input: CreateProductInput!) { createProduct(input: $input) { id } }"


@dataclass
class Sample:
    at: float
    ok: bool
    seconds: float


@dataclass
class Phase:
    name: str
    samples: list[Sample] = field(default_factory=list)

    def line(self) -> str:
        if not self.samples:
            return f"{self.name:>15}: no requests"
        times = sorted(s.seconds for s in self.samples)
        ok = sum(s.ok for s in self.samples)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        share = 100 * ok / len(self.samples)
        return (
            f"{self.name:>15}: {len(self.samples):5d} requests, {share:5.1f}% ok,"
            f" p50 {1000 * statistics.median(times):7.1f} ms, p99 {1000 * p99:7.1f} ms"
        )


async def seed(gateway: str, count: int) -> None:
    token = issue_token("flood-seed", Role.ADMIN, ServiceSettings().jwt_secret(), ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            product = {"sku": f"FLOOD-{n:06d}", "name": f"Flood product {n}", "price": "9.99"}
            product |= {"category": "flood", "stock": 100}
            async with session.post(
                gateway + "/graphql",
                json={"query": CREATE, "variables": {"input": product}},
                headers=headers,
            ) as response:
                await response.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(8)))
    print(f"seeded {count} products")


def flood_query(aliases: int) -> str:
    fields = " ".join(
        f"a{n}: products(limit: 1, offset: {random.randrange(2000)}) {{ total }}"
        for n in range(aliases)
    )
    return "{ " + fields + " }"


async def flood(
    gateway: str, address: str, connections: int, aliases: int, until: float
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=connections, local_addr=(address, 0))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one_connection() -> None:
            while time.monotonic() < until:
                try:
                    async with session.post(
                        gateway + "/graphql", json={"query": flood_query(aliases)}
                    ) as response:
                        await response.read()
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                except (aiohttp.ClientError, TimeoutError):
                    statuses[0] = statuses.get(0, 0) + 1

        await asyncio.gather(*(one_connection() for _ in range(connections)))
    return statuses


async def probe(
    gateway: str, address: str, pause: float, until: float, samples: list[Sample]
) -> None:
    """One ordinary client: `GET /products`, one request at a time, `pause` s apart."""
    connector = aiohttp.TCPConnector(limit=1, local_addr=(address, 0))
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.sleep(random.uniform(0, pause))  # the clients out of step
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                async with session.get(gateway + "/products?limit=20") as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            samples.append(Sample(started, ok, time.monotonic() - started))
            await asyncio.sleep(pause)


def flood_process(args: argparse.Namespace, until: float) -> dict[int, int]:
    """Every flooding client, in the flood's own process: the answers it got, by status."""

    async def every_client() -> dict[int, int]:
        floods = await asyncio.gather(
            *(
                flood(args.gateway, f"127.0.1.{n + 1}", args.connections, args.aliases, until)
                for n in range(args.clients)
            )
        )
        statuses: dict[int, int] = {}
        for counted in floods:
            for status, count in counted.items():
                statuses[status] = statuses.get(status, 0) + count
        return statuses

    return asyncio.run(every_client())


async def measure(args: argparse.Namespace) -> None:
    start = time.monotonic()
    flood_start = start + args.baseline_seconds
    flood_end = flood_start + args.flood_seconds
    end = flood_end + args.after_seconds
    samples: list[Sample] = []
    probing = asyncio.gather(
        *(
            probe(args.gateway, f"127.0.2.{n + 1}", args.probe_pause, end, samples)
            for n in range(args.probe_clients)
        )
    )
    with ProcessPoolExecutor(1) as flooder:
        # the process started and its modules imported before the baseline is measured
        await asyncio.get_running_loop().run_in_executor(
            flooder, os.setpriority, os.PRIO_PROCESS, 0, args.flood_nice
        )
        await asyncio.sleep(max(0.0, flood_start - time.monotonic()))
        # monotonic time is the machine's, so the child's clock agrees with this one's
        statuses = await asyncio.get_running_loop().run_in_executor(
            flooder, flood_process, args, flood_end
        )
    await probing
    phases = [
        Phase("before flood", [s for s in samples if s.at < flood_start]),
        Phase("during flood", [s for s in samples if flood_start <= s.at < flood_end]),
        Phase("first 1 s after", [s for s in samples if flood_end <= s.at < flood_end + 1]),
        Phase("after flood", [s for s in samples if s.at >= flood_end]),
    ]
    for phase in phases:
        print(phase.line())
    print(f"flood answers by status (0: no answer): {dict(sorted(statuses.items()))}")
    late = [s for s in samples if s.at >= flood_end and not s.ok]
    if late:
        print(f"last failure {late[-1].at - flood_end:.1f} s after the flood ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--seed", type=int, default=0, help="create this many products first")
    parser.add_argument("--clients", type=int, default=1, help="flooding addresses")
    parser.add_argument("--connections", type=int, default=4, help="per flooding address")
    parser.add_argument("--aliases", type=int, default=30)
    parser.add_argument(
        "--probe-clients", type=int, default=10, help="ordinary clients (127.0.2.x) reading"
    )
    parser.add_argument(
        "--probe-pause",
        type=float,
        default=1.0,
        help="seconds between an ordinary client's requests (1 s: within its budget)",
    )
    parser.add_argument(
        "--flood-nice", type=int, default=19, help="the flood process's niceness (absolute)"
    )
    # as long as the flood, so that the two p99s rest on as many requests
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--flood-seconds", type=float, default=20)
    parser.add_argument("--after-seconds", type=float, default=15)
    args = parser.parse_args()
    if args.seed:
        asyncio.run(seed(args.gateway, args.seed))
        return
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
