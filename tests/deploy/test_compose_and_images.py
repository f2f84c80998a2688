"""What can be checked of the compose stack and the images without a Docker engine: the
compose file parses and wires things in order, each Dockerfile is multi-stage, slim, non-root
and healthchecked, and each build context holds what its Dockerfile copies."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"inventory": "inventory_subgraph", "orders": "order_subgraph", "gateway": "gateway"}


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def _ignored(relative: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        candidates = [pattern, pattern.replace("**/", "")]
        parts = Path(relative).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(
            fnmatch.fnmatch(prefix, candidate) for prefix in prefixes for candidate in candidates
        ) or any(fnmatch.fnmatch(part, candidates[1]) for part in parts):
            ignored = not negate
    return ignored


def test_the_mongo_image_is_pinned_and_initialised_from_mongo() -> None:
    mongo = _compose()["services"]["mongo"]
    image = mongo["image"]
    assert re.fullmatch(r"mongo:\d+\.\d+\.\d+", image), image
    for volume in mongo["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source


def test_mongo_runs_as_a_single_node_replica_set_for_the_change_streams() -> None:
    """Subscriptions read change streams, which a standalone mongod refuses: the database
    starts as replica set rs0 (a key file, since it has users), the health check initiates
    the set and waits for this node to be primary, and the services name the set."""
    services = _compose()["services"]
    mongo = services["mongo"]
    started = " ".join(mongo["entrypoint"])
    assert "docker-entrypoint.sh mongod --replSet rs0" in started
    assert "--keyFile" in started
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'mongo:27017'}]})" in check
    assert "isWritablePrimary" in check
    for name, variable in (("inventory", "INVENTORY"), ("orders", "ORDERS")):
        uri = services[name]["environment"][f"{variable}_MONGODB_URI"]
        assert uri.endswith("&replicaSet=rs0"), uri


def test_each_database_user_can_touch_only_its_own_database() -> None:
    script = (ROOT / "mongo" / "00-users.js").read_text()
    users = re.findall(
        r'getSiblingDB\("(\w+)"\)\.createUser\(\{\s*user: "(\w+)".*?roles: '
        r"\[([^\]]*)\]",
        script,
        re.DOTALL,
    )
    assert {(db, user) for db, user, _ in users} == {
        ("inventory", "inventory"),
        ("orders", "orders"),
    }
    for db, _, roles in users:
        assert re.findall(r'db: "(\w+)"', roles) == [db]
        assert "readWrite" in roles and "root" not in roles and "Any" not in roles


def test_only_the_gateway_publishes_a_port() -> None:
    services = _compose()["services"]
    assert [name for name, s in services.items() if s.get("ports")] == ["gateway"]


@pytest.mark.parametrize("name", ["mongo", *SERVICES])
def test_every_service_has_a_healthcheck(name: str) -> None:
    assert _compose()["services"][name]["healthcheck"]["test"]


def test_the_stack_comes_up_in_order() -> None:
    services = _compose()["services"]
    assert services["inventory"]["depends_on"] == {"mongo": {"condition": "service_healthy"}}
    assert services["orders"]["depends_on"]["inventory"] == {"condition": "service_healthy"}
    assert set(services["gateway"]["depends_on"]) == {"inventory", "orders"}
    assert all(
        dep["condition"] == "service_healthy"
        for s in services.values()
        for dep in s.get("depends_on", {}).values()
    )


def test_secrets_come_from_the_environment() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${AUTH_JWT_SECRET:?" in text
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
    assert (ROOT / ".env.example").exists()


@pytest.mark.parametrize("name", SERVICES)
def test_each_image_is_multi_stage_slim_non_root_and_healthchecked(name: str) -> None:
    build = _compose()["services"][name]["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) >= 2 and all("slim" in image for image in stages)
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile


@pytest.mark.parametrize("name", SERVICES)
def test_each_build_context_holds_what_its_dockerfile_copies(name: str) -> None:
    build = _compose()["services"][name]["build"]
    context = ROOT / build["context"]
    dockerfile = (context / build["dockerfile"]).read_text().replace("\\\n", " ")
    copies = [
        line.split()[1:-1]
        for line in dockerfile.splitlines()
        if line.startswith(("COPY ", "ADD ")) and "--from=" not in line
    ]
    assert copies
    for sources in copies:
        for source in sources:
            assert (context / source).exists(), source
            assert not _ignored(source), f"{source} is excluded by .dockerignore"


# What no image may hold: the dev stack, the tests' tools, the linters.
DEV_ONLY = {"platform-devkit", "pytest", "secantusdb", "schemathesis", "playwright", "mypy", "ruff"}
PACKAGES = {"inventory": "inventory-subgraph", "orders": "order-subgraph", "gateway": "gateway"}


def _installed_by(package: str) -> set[str]:
    """Every package `uv sync --no-dev --package <package>` installs, from the lock file."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    by_name = {entry["name"]: entry for entry in lock["package"]}
    found: set[str] = set()
    pending: list[tuple[str, tuple[str, ...]]] = [(package, ())]
    while pending:
        name, extras = pending.pop()
        entry = by_name[name]
        wanted = list(entry.get("dependencies", []))
        for extra in extras:
            wanted += entry.get("optional-dependencies", {}).get(extra, [])
        for dependency in wanted:
            step = (dependency["name"], tuple(dependency.get("extra", ())))
            if step[0] not in found or step[1]:
                found.add(step[0])
                pending.append(step)
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_no_image_installs_test_or_dev_stack_code(name: str) -> None:
    installed = _installed_by(PACKAGES[name])
    assert "platform-kit" in installed
    assert installed & DEV_ONLY == set()
    build = _compose()["services"][name]["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    sources = set(re.findall(r"^COPY (\S+/src) ", dockerfile, re.MULTILINE))
    assert sources == {"platform_kit/src", f"{SERVICES[name]}/src"}


def test_the_gateway_installs_neither_strawberry_nor_pymongo() -> None:
    assert _installed_by("gateway") & {"strawberry-graphql", "pymongo"} == set()


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("gateway.entrypoints.app", ["strawberry", "pymongo", "bson"]),
        ("inventory.entrypoints.app", []),
        ("orders.entrypoints.app", []),
    ],
)
def test_each_service_runs_without_what_its_image_leaves_out(
    module: str, absent: list[str]
) -> None:
    """Imported with the dev-only packages (and, for the gateway, Strawberry and PyMongo)
    made unimportable, as they are in the image."""
    blocked = [*absent, "platform_devkit", "pytest", "secantusdb"]
    code = f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\nimport {module}\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
