"""The supergraph file as the gateway reads it: a regular file of bounded size, whatever its
path names. A symlink is followed (a Kubernetes ConfigMap is a chain of them), but what it
ends at must be a regular file: `/dev/zero` never ends and a FIFO blocks its reader until a
writer comes, and either would hold the reload thread (or fill the memory) for good."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["SupergraphFile", "SupergraphFileRefused"]

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class SupergraphFileRefused(OSError):
    """The path names something that is not a supergraph file: refused unread."""


class SupergraphFile:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def read(self) -> bytes:
        """The file's bytes; SupergraphFileRefused for anything but a regular file of at most
        `max_bytes` (other OSErrors as they come: missing, no permission)."""
        self._check(os.stat(self.path))  # before open: opening a FIFO may block
        # O_NONBLOCK: should a FIFO replace the file between the two looks, opening it does
        # not wait for a writer (for a regular file the flag changes nothing)
        descriptor = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(descriptor, "rb") as file:
            self._check(os.fstat(file.fileno()))  # what was opened, not what was looked at
            content = file.read(self.max_bytes + 1)
        if len(content) > self.max_bytes:  # it grew between fstat and read
            raise self._too_large()
        return content

    def _check(self, status: os.stat_result) -> None:
        if not stat.S_ISREG(status.st_mode):
            kind = _KINDS.get(stat.S_IFMT(status.st_mode), "something else")
            raise SupergraphFileRefused(f"{self.path} is not a regular file but {kind}")
        if status.st_size > self.max_bytes:
            raise self._too_large()

    def _too_large(self) -> SupergraphFileRefused:
        return SupergraphFileRefused(f"{self.path} is over {self.max_bytes} bytes")
