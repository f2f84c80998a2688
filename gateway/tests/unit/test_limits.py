"""Operation limits are checked before validation and planning, in time linear in the
document; the prepared-operation cache is bounded by entries and bytes. No I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.federation.executor import Executor
from gateway.federation.limits import OperationLimits, limit_errors
from gateway.federation.pipeline import CacheLimits, Gateway, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"


def _codes(query: str, limits: OperationLimits) -> list[str]:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return [e["extensions"]["code"] for e in limit_errors(document, operation, limits)]


def test_an_operation_within_the_limits_passes() -> None:
    query = "query { a: products { total } b: products { items { id } } } "
    assert _codes(query, OperationLimits(max_aliases=2, max_depth=3, max_root_fields=2)) == []


@pytest.mark.parametrize(
    ("query", "limits", "code"),
    [
        ("{ a { b { c { d } } } }", OperationLimits(max_depth=3), "MAX_DEPTH_EXCEEDED"),
        ("{ x: a y: a z: a }", OperationLimits(max_aliases=2), "MAX_ALIASES_EXCEEDED"),
        ("{ a b c }", OperationLimits(max_root_fields=2), "MAX_ROOT_FIELDS_EXCEEDED"),
        ("{ a { b c d } }", OperationLimits(max_fields=3), "MAX_FIELDS_EXCEEDED"),
        # through fragments: spread inside fragments, and at the root
        (
            "query { ...R } fragment R on Query { a { ...D } } fragment D on A { b { c { d } } }",
            OperationLimits(max_depth=3),
            "MAX_DEPTH_EXCEEDED",
        ),
        (
            "query { ...R } fragment R on Query { a b c }",
            OperationLimits(max_root_fields=2),
            "MAX_ROOT_FIELDS_EXCEEDED",
        ),
    ],
)
def test_each_limit_is_named_when_passed(query: str, limits: OperationLimits, code: str) -> None:
    assert _codes(query, limits) == [code]


def test_a_fragment_bomb_is_measured_without_expanding_it() -> None:
    # 2^40 fields once expanded; each fragment is measured once
    fragments = " ".join(
        f"fragment F{i} on Q {{ a {{ ...F{i + 1} }} b {{ ...F{i + 1} }} }}" for i in range(40)
    )
    query = "query { ...F0 } " + fragments + " fragment F40 on Q { leaf }"
    assert "MAX_FIELDS_EXCEEDED" in _codes(query, OperationLimits(max_depth=100))


@pytest.fixture
def gateway() -> Gateway:
    supergraph = Supergraph.parse(SUPERGRAPH.read_text())
    executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
    return Gateway(
        supergraph,
        executor,
        OperationLimits(max_tokens=50),
        CacheLimits(max_entries=3, max_bytes=20_000, max_document_bytes=100, max_plans=2),
    )


def test_a_document_past_the_token_limit_is_refused_while_parsing(gateway: Gateway) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(100)) + " }"
    with pytest.raises(RequestError) as refused:
        gateway.prepare(query, None)
    assert refused.value.errors[0]["extensions"]["code"] == "MAX_TOKENS_EXCEEDED"


def test_the_cache_is_bounded_by_entries_and_bytes(gateway: Gateway) -> None:
    small = [f"{{ p{i}: __typename }}" for i in range(5)]
    for query in small:
        gateway.prepare(query, None)
    assert len(gateway.cache) == 3  # the oldest went first
    assert gateway.prepare(small[-1], None) is gateway.prepare(small[-1], None)

    large = "{ " + " ".join(["__typename"] * 20) + " }"  # over max_document_bytes
    assert gateway.prepare(large, None) is not gateway.prepare(large, None)  # never kept
    assert gateway.cache.held_bytes <= gateway.cache.limits.max_bytes


def test_plans_per_document_are_bounded(gateway: Gateway) -> None:
    query = (
        "query($a: Boolean!, $b: Boolean!)"
        " { x: __typename @include(if: $a) y: __typename @include(if: $b) }"
    )
    prepared = gateway.prepare(query, None)
    for a in (True, False):
        for b in (True, False):
            gateway.plan(prepared, {"a": a, "b": b})
    assert len(prepared.plans) == 2


@pytest.mark.parametrize(
    "query",
    [
        "{ a { " + " ".join("...{ b }" for _ in range(4)) + " } }",
        "{ a { ...F c } } fragment F on A { b ...G } fragment G on A { b b }",
        "{ " + " ".join("b" for _ in range(4)) + " }",  # the root's own
    ],
)
def test_one_selection_set_holds_a_bounded_number_of_fields_its_fragments_merged_in(
    query: str,
) -> None:
    assert _codes(query, OperationLimits(max_selection_fields=3)) == [
        "MAX_SELECTION_FIELDS_EXCEEDED"
    ]
    assert _codes(query, OperationLimits(max_selection_fields=4)) == []
