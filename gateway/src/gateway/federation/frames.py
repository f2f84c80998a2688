"""Letting an expected error go without the collector.

An exception keeps the frames it was raised through (its traceback), each frame its
locals, and a local is often what holds the exception: a future that coalesced callers
wait on, a result that carries it to another thread, the frame that caught it. Such a
cycle is freed only by a garbage collection; under a flood of refusals or of failing
subgraph calls it was hundreds of objects a request, and the collections that found them
stalled every other request for tens of milliseconds (issue 18). An error the gateway
expects and turns into words (a refused document, a subgraph that did not answer) needs
none of its frames' locals once it is caught."""

from __future__ import annotations

import traceback

__all__ = ["let_go"]


def let_go(error: BaseException) -> None:
    """Forget the tracebacks of `error` and of the errors it was raised from or during,
    and clear the locals of the finished frames they went through (frames still running
    are left as they are). Both: a frame keeps its caller (`f_back`), whose locals may hold
    the error (a result carrying it); and a future keeps the traceback it was given."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
