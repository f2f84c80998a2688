"""The prepared-operation cache is bounded by the memory its entries really hold, and a new
document's preparation by the width of its selection sets: many distinct large valid
documents cannot grow the gateway. Memory is measured with tracemalloc; no I/O."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from gateway.federation.executor import Executor
from gateway.federation.pipeline import CacheLimits, Gateway, OperationLimits, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"
CONDITIONAL_NAME = "...{ name @include(if: $c0) }"


def _gateway(cache: CacheLimits | None = None, limits: OperationLimits | None = None) -> Gateway:
    supergraph = Supergraph.parse(SUPERGRAPH.read_text())
    executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
    return Gateway(supergraph, executor, limits, cache)


def _large(number: int, sets: int = 1, width: int = 99) -> str:
    """A valid document near the token limit: `sets` selection sets of `width` fragments."""
    fragments = " ".join([CONDITIONAL_NAME] * width)
    body = " ".join(
        f"a{i}: products(limit: 1) {{ items {{ id {fragments} }} }}" for i in range(sets)
    )
    return f"query($c0: Boolean = true) {{ {body} }} # {number}"


def _prepared_and_planned(gateway: Gateway, query: str) -> None:
    prepared = gateway.prepare(query, None)
    gateway.plan(prepared, gateway.admit(prepared, {"c0": True}, None).values)


def test_the_document_that_grew_the_gateway_is_refused_before_validation() -> None:
    # 700 conditional fragments in one selection set: 0.44 s and 2.8 MB each, once
    query = (
        "query($c0: Boolean = true) { products(limit: 1) { items { id "
        + " ".join([CONDITIONAL_NAME] * 700)
        + " } } }"
    )
    with pytest.raises(RequestError) as refused:
        _gateway(limits=OperationLimits(max_tokens=10_000)).prepare(query, None)
    codes = [error["extensions"]["code"] for error in refused.value.errors]
    assert codes == ["MAX_SELECTION_FIELDS_EXCEEDED"]
    with pytest.raises(RequestError) as refused:
        _gateway().prepare(query, None)  # and it has more tokens than the default limit
    assert refused.value.errors[0]["extensions"]["code"] == "MAX_TOKENS_EXCEEDED"


def test_the_cache_estimate_is_not_below_what_its_entries_hold() -> None:
    gateway = _gateway()
    gc.collect()
    tracemalloc.start()
    try:
        for number in range(3):
            _prepared_and_planned(gateway, _large(number))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(gateway.cache) == 3
    assert gateway.cache.held_bytes >= held


def test_distinct_large_documents_hold_no_more_memory_than_the_cache_bound() -> None:
    bound = 1024 * 1024
    gateway = _gateway(CacheLimits(max_bytes=bound))
    gc.collect()
    tracemalloc.start()
    try:
        for number in range(10):  # about 0.5 MB each
            _prepared_and_planned(gateway, _large(number))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert gateway.cache.held_bytes <= bound
    assert held <= bound
    assert 0 < len(gateway.cache) < 10


def test_a_kept_document_lets_its_tokens_go_and_keeps_what_errors_are_located_by() -> None:
    """settle(): the nodes counted as node_count does, no token of the text left reachable
    from the kept tree, and an error on any node located where it was before."""
    from graphql import GraphQLError, parse

    from gateway.federation.prepared_cache import node_count, settle

    text = (
        "# a comment\nquery Q($c0: Boolean = true) {\n  a: products(limit: 1) {\n"
        "    items { id ...{ name @include(if: $c0) } }\n  }\n}"
    )
    located = parse(text)
    document = parse(text)
    fields = [
        located.definitions[0].selection_set.selections[0],  # type: ignore[attr-defined]
        document.definitions[0].selection_set.selections[0],  # type: ignore[attr-defined]
    ]
    first_token = document.loc.start_token if document.loc else None
    assert settle(document) == node_count(located)
    assert GraphQLError("x", fields[1]).locations == GraphQLError("x", fields[0]).locations
    assert document == located  # same nodes, same offsets
    assert first_token is not None and first_token.next is None  # the chain unlinked
    # no location holds a token of the text any more
    assert document.loc is not None and document.loc.start_token is not first_token
    field_loc = fields[1].loc
    assert field_loc is not None
    held = {id(field_loc.start_token), id(field_loc.end_token), id(document.loc.end_token)}
    assert held == {id(document.loc.start_token)}
