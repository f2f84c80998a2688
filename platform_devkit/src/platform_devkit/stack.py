"""The platform's services started in order, inventory -> orders -> gateway, each a uvicorn
process wired to the ones it calls: the one place `make run` (tools/devstack.py), `make bench`
(tools/bench.py) and the end-to-end tests start the stack."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from platform_devkit.processes import ServiceProcess, free_port

__all__ = ["Platform", "database_uri", "start_platform", "subgraph_urls"]


@dataclass(frozen=True)
class Platform:
    inventory: ServiceProcess
    orders: ServiceProcess
    gateway: ServiceProcess

    @property
    def services(self) -> tuple[ServiceProcess, ...]:
        """In start-up order (stop them in reverse)."""
        return (self.inventory, self.orders, self.gateway)


def database_uri(server_uri: str, name: str) -> str:
    """The URI of database `name` on the server at `server_uri` (options kept)."""
    base, _, query = server_uri.partition("?")
    return f"{base.rstrip('/')}/{name}" + (f"?{query}" if query else "")


def subgraph_urls(inventory: ServiceProcess, orders: ServiceProcess) -> dict[str, str]:
    """A gateway's environment naming the subgraphs it calls."""
    return {
        "SUBGRAPH_URL_INVENTORY": inventory.base_url + "/graphql",
        "SUBGRAPH_URL_ORDERS": orders.base_url + "/graphql",
    }


def start_platform(
    env: Mapping[str, str],
    *,
    inventory_uri: str,
    orders_uri: str,
    ports: Mapping[str, int] | None = None,
    host: str = "127.0.0.1",
    logs: Path | None = None,
    inherit_output: bool = False,
    launch: Callable[[ServiceProcess], object] = ServiceProcess.start,
) -> Platform:
    """Each service gets `env` and what it needs to reach its database and the services it
    calls, its port in `ports` (by name; else a free one), logs to `logs`/<name>.log (or,
    with `inherit_output`, to this process's output), and is handed to `launch`, which
    starts it and waits until it is healthy; a caller that must stop what it started even
    when a later start fails keeps track there."""
    ports = ports or {}

    def start(
        name: str, wiring: Mapping[str, str], extra_args: tuple[str, ...] = ()
    ) -> ServiceProcess:
        process = ServiceProcess(
            name,
            f"{name}.entrypoints.app:create_app",
            ports.get(name) or free_port(),
            env={**env, **wiring},
            host=host,
            log_path=logs / f"{name}.log" if logs else None,
            inherit_output=inherit_output,
            extra_args=extra_args,
        )
        launch(process)
        return process

    inventory = start("inventory", {"INVENTORY_MONGODB_URI": inventory_uri})
    orders = start(
        "orders", {"ORDERS_MONGODB_URI": orders_uri, "INVENTORY_URL": inventory.base_url}
    )
    # the gateway's clients are its sockets' peers (X-Forwarded-For: GATEWAY_TRUSTED_PROXIES)
    gateway = start("gateway", subgraph_urls(inventory, orders), ("--no-proxy-headers",))
    return Platform(inventory, orders, gateway)
