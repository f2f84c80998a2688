"""Child processes that die with their parent: the local database and the services.

Used by `make run` (tools/devstack.py) and by the test suite, so what the tests start is
what a developer runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError

__all__ = ["LocalMongo", "ManagedProcess", "ServiceProcess", "free_port", "wait_for_port_free"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when its parent dies, so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port_free(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.05)
    return False


class ManagedProcess:
    """A child process with a name, a log file, and a stop that never leaves it behind."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
        inherit_output: bool = False,
    ) -> None:
        self.name = name
        self.inherit_output = inherit_output
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Self:
        """Start the process and wait (up to `timeout` seconds) until it is `ready`."""
        output: IO[bytes] | int | None
        if self.inherit_output:
            output = None
        elif self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
            output = self._log
        else:
            output = subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.running:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not become ready:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def ready(self) -> bool:
        """Whether the process serves yet (a subclass asks it); this one: once running."""
        return self.running

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not leave in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(10)
        self._close_log()

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _secantus_executable() -> str:
    beside_python = Path(sys.executable).parent / "secantusd-py"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("secantusd-py")
    if found is None:
        raise FileNotFoundError("secantusd-py not found: run `make install` (package secantusdb)")
    return found


class LocalMongo(ManagedProcess):
    """SecantusDB (`secantusd-py`), the embedded MongoDB-compatible default."""

    def __init__(
        self,
        port: int,
        storage_path: str = ":memory:",
        *,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        inherit_output: bool = False,
    ) -> None:
        super().__init__(
            "database",
            [
                _secantus_executable(),
                "--host",
                host,
                "--port",
                str(port),
                "--storage-path",
                storage_path,
                "--log-level",
                "WARNING",
            ],
            log_path=log_path,
            inherit_output=inherit_output,
        )
        self.host = host
        self.port = port

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}"

    def ready(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True


class ServiceProcess(ManagedProcess):
    """One of our services under uvicorn, started and awaited until /healthz answers."""

    def __init__(
        self,
        name: str,
        app: str,
        port: int,
        *,
        env: Mapping[str, str],
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        inherit_output: bool = False,
    ) -> None:
        super().__init__(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "20",
                *extra_args,
            ],
            env=env,
            log_path=log_path,
            inherit_output=inherit_output,
        )
        self.port = port
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.base_url = f"http://{connect_host}:{port}"

    def ready(self) -> bool:
        try:
            return httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False
