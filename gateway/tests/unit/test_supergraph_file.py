"""The supergraph file is read only when it is a regular file of bounded size (symlinks
followed); anything else is refused unread. On the real file system: a FIFO, a device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.entrypoints.supergraph_file import SupergraphFile, SupergraphFileRefused


def test_a_regular_file_is_read_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "supergraph.graphql").write_bytes(b"type Query")
    (tmp_path / "link").symlink_to("supergraph.graphql")
    assert SupergraphFile(tmp_path / "link", max_bytes=10).read() == b"type Query"


def test_a_file_over_the_bound_is_refused(tmp_path: Path) -> None:
    (tmp_path / "supergraph.graphql").write_bytes(b"x" * 11)
    with pytest.raises(SupergraphFileRefused, match="over 10 bytes"):
        SupergraphFile(tmp_path / "supergraph.graphql", max_bytes=10).read()


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to("fifo")
    with pytest.raises(SupergraphFileRefused, match="not a regular file but a FIFO"):
        SupergraphFile(tmp_path / "link", max_bytes=1024).read()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(tmp_path: Path, device: str) -> None:
    (tmp_path / "link").symlink_to(device)
    with pytest.raises(SupergraphFileRefused, match="not a regular file"):
        SupergraphFile(tmp_path / "link", max_bytes=1024).read()


def test_a_missing_file_is_an_ordinary_read_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SupergraphFile(tmp_path / "missing", max_bytes=1024).read()
