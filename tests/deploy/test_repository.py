"""What the repository holds: the browser pages' third-party files come from pinned npm
packages at install time (gateway/ui), never from files committed to git."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = re.compile(r"(\.min\.(js|css)|-bundle\.js|\.umd\.js)$")


def test_no_minified_third_party_bundle_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "not a git checkout"
    assert [path for path in tracked if BUNDLE.search(path)] == []


def test_the_web_ui_packages_are_pinned_exactly_and_locked() -> None:
    package = json.loads((ROOT / "gateway" / "ui" / "package.json").read_text())
    lock = json.loads((ROOT / "gateway" / "ui" / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def _order_state_diagram() -> set[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(stateDiagram-v2\n.*?)```", readme, re.S)
    assert len(blocks) == 1, "the README shows the order's life as one state diagram"
    return set(re.findall(r"^\s*(\S+) --> (\S+?)(?::|$)", blocks[0], re.M))


def test_the_readmes_order_state_diagram_matches_the_domain() -> None:
    from orders.domain.errors import TransitionNotAllowed
    from orders.domain.order import Order, OrderStatus

    edges = _order_state_diagram()
    states = {state for edge in edges for state in edge} - {"[*]"}
    assert states == {status.value for status in OrderStatus}
    # every move a client may ask for is a path in the diagram
    following: dict[str, set[str]] = {}
    for source, target in edges:
        following.setdefault(source, set()).add(target)
    for source in OrderStatus:
        order = Order("o", "u", source, (), "f", None, None)  # type: ignore[arg-type]
        for target in OrderStatus:
            try:
                order.check_transition(target)
            except TransitionNotAllowed:
                continue
            reachable, frontier = set(), [source.value]
            while frontier:
                for state in following.get(frontier.pop(), ()):
                    if state not in reachable:
                        reachable.add(state)
                        frontier.append(state)
            assert target.value in reachable, f"{source.value} -> {target.value}"
