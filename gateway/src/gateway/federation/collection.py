"""No cyclic garbage collection while a new document is prepared or planned.

Preparing a large document makes tens of thousands of objects in tens of milliseconds
(tokens, syntax nodes and their locations, validation state, the fetch tree). Collections in
the middle of it find them all alive, so each survivor is walked again and moved to an older
generation; the ones that die right after (tokens, the fetch tree) then count towards the
next full collection, which walks every document the gateway has kept. Measured in process,
30 new many-plans documents in a row through the ASGI app, on a busy machine: 131 and 158 ms
of CPU each with collections running, 119 and 114 with them paused while each document is
prepared and while it is planned (since: its steps, response shape and direct decoding
compiled too). The garbage is collected by the first collection after:
its memory waits at most as long as the preparation (bounded by the operation limits).

Pausing is process-wide (the preparing thread and the event loop may both be inside):
collections resume when the last one leaves, and only if they ran before the first came.
Between two documents, even back to back on the preparing thread, the first allocation
after resuming runs the collections that are due, so garbage from anywhere in the process
waits at most one preparation (new documents get at most a share of the process's time:
preparation.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collections_paused"]

_lock = threading.Lock()
_inside = 0
_resume = False  # whether collections ran when the first one came in


@contextmanager
def collections_paused() -> Iterator[None]:
    global _inside, _resume
    with _lock:
        if _inside == 0:
            _resume = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _resume:
                gc.enable()
