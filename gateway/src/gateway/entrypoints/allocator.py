"""glibc's allocator told to keep buffers of up to 32 MiB in its heap.

A large answer goes through a few buffers of its whole size (the subgraph's bytes, the
client's, the encoders' growing outputs). By default glibc serves each one above its
threshold with a fresh `mmap` and unmaps it when freed; the threshold adapts to the largest
block freed so far, but an allocation of that same size still gets a fresh mapping. So every
8 MiB answer page-faulted in some 40 MiB of new zeroed pages, and the kernel time it took was
a quarter of the gateway's CPU per request (the big-response scenario: 21 ms of system time
a request, 4-8 ms with these settings; README, performance).

With both thresholds at 32 MiB such buffers come from the heap and their pages are reused,
and at most 32 MiB lying free at the top of the heap is kept rather than returned to the
system. Anywhere else than glibc (musl, macOS) nothing is changed."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

__all__ = ["KEEP_BYTES", "keep_large_buffers"]

log = logging.getLogger(__name__)

KEEP_BYTES = 32 * 1024 * 1024
_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def keep_large_buffers(keep_bytes: int = KEEP_BYTES) -> bool:
    """Set glibc's mmap and trim thresholds; whether it was done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: its own allocator's defaults stay
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, keep_bytes)) and bool(
        mallopt(_M_TRIM_THRESHOLD, keep_bytes)
    )
    if not done:
        log.warning("mallopt refused the thresholds; large buffers stay mapped one by one")
    return done
