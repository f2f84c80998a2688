"""What a computing thread does to the event loop's socket round trips, by switch interval
(the gateway prepares new documents on a thread of its own: federation/preparation.py,
`share_the_interpreter`).

For each interval: 300 round trips of one byte through a local echo server on the loop,
quiet, then 300 more while another thread computes. A thread that wants the interpreter's
lock waits for the holder's switch interval to run out, and the loop wants it back after
every wait for a socket: the busy p99 follows the interval.

    .venv/bin/python tools/gil_convoy.py            # intervals 5, 1 and 0.5 ms
    .venv/bin/python tools/gil_convoy.py 0.005 0.0002"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

ROUND_TRIPS = 300


def _compute(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(20_000))


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(100):
        writer.write(data)
        await writer.drain()


async def _round_trips(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> list[float]:
    times = []
    for _ in range(ROUND_TRIPS):
        started = time.perf_counter()
        writer.write(b"x")
        await writer.drain()
        await reader.read(1)
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.002)
    return sorted(times)


def _summary(times: list[float]) -> str:
    return f"p50 {times[len(times) // 2]:6.2f} p99 {times[int(len(times) * 0.99)]:6.2f} ms"


async def _measure(interval: float) -> str:
    sys.setswitchinterval(interval)
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    quiet = await _round_trips(reader, writer)
    stop = threading.Event()
    computing = threading.Thread(target=_compute, args=(stop,))
    computing.start()
    try:
        busy = await _round_trips(reader, writer)
    finally:
        stop.set()
        computing.join()
    writer.close()
    server.close()
    return f"interval {interval * 1000:5.2f} ms: quiet {_summary(quiet)}; busy {_summary(busy)}"


def main() -> None:
    intervals = [float(a) for a in sys.argv[1:]] or [0.005, 0.001, 0.0005]
    for interval in intervals:
        print(asyncio.run(_measure(interval)), flush=True)


if __name__ == "__main__":
    main()
