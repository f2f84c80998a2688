"""Stage 4a: a plan's fetch tree as steps, each step's fetches to one subgraph merged into
one request. Made once per plan and cached with it.

A fetch runs at the step after its parent (depth in the tree). A fetch that nothing depends
on is moved to a later step when that step already calls the same subgraph, so it travels
in that request instead of one of its own. In one step, every entity fetch to a subgraph
goes in one operation, one aliased `_entities` field per distinct selection: fetches with
the same selection (at different paths) share one field and one list of representations.
Root fetches keep a request each (their fields are the client's and must not be renamed).
A mutation's root fetches stay in order, each followed by the steps of its own subtree.
The fetches of each deferred fragment (`Fetch.group`) are staged apart, as steps of their
own that run once the part they belong under has answered."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.federation.plan import Fetch, QueryPlan

__all__ = ["EntityCall", "Stage", "StagedFetch", "StagedPlan", "SubgraphRequest", "stage_plan"]


@dataclass(frozen=True)
class StagedFetch:
    fetch: Fetch
    index: int  # position in StagedPlan.fetches
    parent: int | None  # the fetch whose answer this one reads; None for a root fetch
    after: tuple[int, ...] = ()  # other fetches it must follow (Fetch.after), by index


@dataclass(frozen=True)
class EntityCall:
    """One `_entities` field of a request: its alias and representations variable, and the
    fetches (same selection, any path) whose representations it carries."""

    alias: str
    variable: str
    fetches: tuple[StagedFetch, ...]


@dataclass(frozen=True)
class SubgraphRequest:
    graph: str
    operation: str
    variables: tuple[str, ...]  # the client's variables the operation uses
    shareable: bool  # a query: an identical request in flight may answer it
    root: StagedFetch | None = None  # a root fetch, merged at the response's root
    entity_calls: tuple[EntityCall, ...] = ()
    # one entity fetch with arguments from context: sent once per set of their values
    contextual: bool = False


@dataclass(frozen=True)
class Stage:
    requests: tuple[SubgraphRequest, ...]


@dataclass(frozen=True)
class StagedPlan:
    kind: str
    fetches: tuple[StagedFetch, ...]
    stages: tuple[Stage, ...]  # the first payload's
    # each deferred fragment's steps, by its id (a fragment with no fetch of its own has none)
    deferred: dict[int, tuple[Stage, ...]] = field(default_factory=dict)

    def request_count(self) -> int:
        return sum(len(stage.requests) for stage in self.stages)

    def describe(self) -> str:
        lines = []
        for number, stage in enumerate(self.stages):
            lines.append(f"Step {number}:")
            for request in stage.requests:
                lines.append(f"  {request.graph}: {request.operation}")
        return "\n".join(lines)


def stage_plan(plan: QueryPlan) -> StagedPlan:
    fetches: list[StagedFetch] = []
    children: dict[int, list[int]] = {}
    roots = [_flatten(fetch, None, fetches, children) for fetch in plan.fetches]
    by_id = {staged.fetch.id: staged.index for staged in fetches}
    fetches = [
        StagedFetch(s.fetch, s.index, s.parent, tuple(by_id[i] for i in s.fetch.after))
        if s.fetch.after
        else s
        for s in fetches
    ]
    groups = sorted({staged.fetch.group for staged in fetches} - {0})
    if groups:  # each group's fetches alone: those of other groups are done or not its own
        group_roots = {
            group: [
                s.index
                for s in fetches
                if s.fetch.group == group
                and (s.parent is None or fetches[s.parent].fetch.group != group)
            ]
            for group in (0, *groups)
        }
        roots = group_roots[0]
        children = {
            index: [c for c in below if fetches[c].fetch.group == fetches[index].fetch.group]
            for index, below in children.items()
        }
    if plan.kind == "mutation":
        steps: list[list[int]] = []
        for root in roots:  # in order: each mutation and what follows from it
            steps += _steps([root], children, fetches)
    else:
        steps = _steps(roots, children, fetches)
    stages = _stages(steps, fetches, plan.kind)
    deferred = {
        group: _stages(_steps(group_roots[group], children, fetches), fetches, "query")
        for group in groups
    }
    return StagedPlan(plan.kind, tuple(fetches), stages, deferred)


# module functions, not closures: a nested function that calls itself refers to itself
# through its cell, and that cycle kept what it saw (the lists and dicts of a few hundred
# fetches) for a garbage collection to find
def _flatten(
    fetch: Fetch, parent: int | None, fetches: list[StagedFetch], children: dict[int, list[int]]
) -> int:
    staged = StagedFetch(fetch, len(fetches), parent)
    fetches.append(staged)
    children[staged.index] = [
        _flatten(child, staged.index, fetches, children) for child in fetch.children
    ]
    return staged.index


def _level(
    index: int,
    visiting: frozenset[int],
    depth: dict[int, int],
    fetches: list[StagedFetch],
    inside: set[int],
) -> int:
    """One step after its parent and after every fetch it follows (outside this subtree:
    an earlier mutation's, already done)."""
    if index not in depth:
        staged = fetches[index]
        needed = [i for i in staged.after if i in inside and i not in visiting]
        if staged.parent is not None and staged.parent in inside:
            needed.append(staged.parent)
        depth[index] = 1 + max(
            (_level(i, visiting | {index}, depth, fetches, inside) for i in needed), default=-1
        )
    return depth[index]


def _stages(steps: list[list[int]], fetches: list[StagedFetch], kind: str) -> tuple[Stage, ...]:
    return tuple(Stage(_requests([fetches[i] for i in step], kind)) for step in steps if step)


def _steps(
    roots: list[int], children: dict[int, list[int]], fetches: list[StagedFetch]
) -> list[list[int]]:
    members: list[int] = []
    pending = list(roots)
    while pending:
        index = pending.pop()
        members.append(index)
        pending += children[index]
    inside = set(members)
    depth: dict[int, int] = {}
    for index in members:
        _level(index, frozenset(), depth, fetches, inside)
    followed = {i for index in members for i in fetches[index].after}
    steps: list[list[int]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for index in sorted(depth):
        steps[depth[index]].append(index)
    # leaves ride along with a later call to the same subgraph; deepest first, so a leaf
    # can follow another leaf that has moved. How many entity fetches each step has per
    # subgraph is kept as they move, rather than looked for in the later steps each time.
    entity_calls: list[dict[str, int]] = [{} for _ in steps]
    for level_number, step in enumerate(steps):
        for index in step:
            fetch = fetches[index].fetch
            if fetch.entity_type is not None:
                calls = entity_calls[level_number]
                calls[fetch.graph] = calls.get(fetch.graph, 0) + 1
    for level_number in range(len(steps) - 2, -1, -1):
        staying: list[int] = []
        for index in steps[level_number]:
            fetch = fetches[index].fetch
            if children[index] or index in followed or fetch.entity_type is None:
                staying.append(index)
                continue
            for later in range(level_number + 1, len(steps)):
                if entity_calls[later].get(fetch.graph, 0):
                    steps[later].append(index)
                    entity_calls[level_number][fetch.graph] -= 1
                    entity_calls[later][fetch.graph] += 1
                    break
            else:
                staying.append(index)
        steps[level_number] = staying
    return steps


def _requests(step: list[StagedFetch], kind: str) -> tuple[SubgraphRequest, ...]:
    requests: list[SubgraphRequest] = []
    entity_fetches: dict[str, list[StagedFetch]] = {}
    for staged in step:
        fetch = staged.fetch
        if fetch.entity_type is None:
            requests.append(
                SubgraphRequest(
                    fetch.graph,
                    fetch.operation,
                    fetch.variables,
                    shareable=kind != "mutation",
                    root=staged,
                )
            )
        elif fetch.context:
            requests.append(
                SubgraphRequest(
                    fetch.graph,
                    fetch.operation,
                    fetch.variables,
                    shareable=True,
                    entity_calls=(EntityCall("_entities", "representations", (staged,)),),
                    contextual=True,
                )
            )
        else:
            entity_fetches.setdefault(fetch.graph, []).append(staged)
    for graph, staged_fetches in entity_fetches.items():
        requests.append(_merged_entities(graph, staged_fetches))
    return tuple(requests)


def _merged_entities(graph: str, staged_fetches: list[StagedFetch]) -> SubgraphRequest:
    """One operation with an aliased `_entities` field per distinct selection, joined from
    the parts each fetch was printed from (Fetch.entity_selection, Fetch.declared)."""
    by_operation: dict[str, list[StagedFetch]] = {}
    for staged in staged_fetches:
        by_operation.setdefault(staged.fetch.operation, []).append(staged)
    calls: list[EntityCall] = []
    fields: list[str] = []
    definitions: dict[str, str] = {}
    for number, sharing in enumerate(by_operation.values()):
        alias, variable = f"_e{number}", f"r{number}"
        calls.append(EntityCall(alias, variable, tuple(sharing)))
        fetch = sharing[0].fetch
        definitions.update(fetch.declared)
        definitions[variable] = f"${variable}: [_Any!]!"
        fields.append(
            f"{alias}: _entities(representations: ${variable}) {{ {fetch.entity_selection} }}"
        )
    return SubgraphRequest(
        graph,
        f"query({' '.join(definitions.values())}) {{ {' '.join(fields)} }}",
        tuple(sorted({v for s in staged_fetches for v in s.fetch.variables})),
        shareable=True,
        entity_calls=tuple(calls),
    )
