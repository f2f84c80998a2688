"""`make run`'s launcher: everything comes up on the configured ports, and Ctrl-C stops all
of it, leaving no process and no bound port behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import free_port, wait_for_port_free

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _wait_healthy(url: str, launcher: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "the launcher exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


def _children_of(pid: int) -> set[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return {int(line) for line in out.split()}


def test_ctrl_c_stops_every_process_it_started(tmp_path: Path, jwt_secret: str) -> None:
    ports = {
        name: free_port()
        for name in ("GATEWAY_PORT", "INVENTORY_PORT", "ORDERS_PORT", "MONGO_PORT")
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "AUTH_JWT_SECRET": jwt_secret,
        "STACK_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("INVENTORY_MONGODB_URI", None)
    env.pop("ORDERS_MONGODB_URI", None)
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "devstack.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for name in ("INVENTORY_PORT", "ORDERS_PORT", "GATEWAY_PORT"):
            _wait_healthy(f"http://127.0.0.1:{ports[name]}/healthz", launcher)
        ready = httpx.get(f"http://127.0.0.1:{ports['GATEWAY_PORT']}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        children = _children_of(launcher.pid)
        assert len(children) == 4

        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"{pid} left behind"
        for port in ports.values():
            assert wait_for_port_free(port, timeout=5), f"port {port} still bound"
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True
