"""The prepared-operation cache, bounded by entries and by an estimate of the memory its
entries really hold: what a document's syntax tree, its cost formula and each of its plans
take grows with the tree's nodes, not with the bytes of its text (700 `...{ name }` in 21 KB
once held 2.8 MB). The bytes per node are measured with tracemalloc
(tests/unit/test_prepared_cache.py keeps the estimate above the measure)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql.language import DocumentNode, Node, Token, TokenKind

if TYPE_CHECKING:
    from gateway.federation.pipeline import Prepared

__all__ = ["RELEASED", "CacheLimits", "PreparedCache", "node_count", "settle"]

# tracemalloc, graphql-core 3.2: about 460 bytes per syntax node for a prepared document
# (tree, locations, cost formula), about 30 per node for each plan made from it
DOCUMENT_BYTES_PER_NODE = 600
PLAN_BYTES_PER_NODE = 60

Key = tuple[str, str | None]


@dataclass(frozen=True)
class CacheLimits:
    """At most `max_entries` prepared operations holding about `max_bytes` of memory; a
    document over `max_document_bytes` of text is prepared for each request and never
    kept. Per document, plans for at most `max_plans` sets of @skip/@include values."""

    max_entries: int = 1_000
    max_bytes: int = 64 * 1024 * 1024
    max_document_bytes: int = 64 * 1024
    max_plans: int = 16


# a node class's field names but `loc`: graphql-core computes `Node.keys` from its dataclass
# fields on every access, which made counting a 30-alias document's nodes take 5 ms
_KEYS: dict[type, tuple[str, ...]] = {}


# what a kept document's locations point to instead of the lexer's tokens
RELEASED = Token(TokenKind.SOF, 0, 0, 0, 0)


def settle(document: DocumentNode) -> int:
    """`node_count(document)`, and the lexer's tokens let go of: a location keeps its
    offsets and source (all an error's `locations` is made of), but also the tokens it
    started and ended at, each linked to the next and previous, so a kept document held
    every token of its text (2,053 of the 10,700 objects a new many-plans document left
    for the collector to walk, some 200 KB). Nothing reads them once parsing is over."""
    start = document.loc.start_token if document.loc is not None else None
    token: Token | None = start
    while token is not None:  # unlinked, each is freed as its last location lets go
        following = token.next
        token.prev = token.next = None
        token = following
    return node_count(document, release=True)


def node_count(node: Node, release: bool = False) -> int:
    """The syntax nodes of a tree (iterative: a deep document cannot exhaust the stack).
    Most attributes of a node are names, strings or None: those are passed over before any
    isinstance check (3.4 -> 0.9 ms for a 3,000-node document)."""
    count = 0
    pending: list[Any] = [node]
    pop, push, extend = pending.pop, pending.append, pending.extend
    keys_of = _KEYS
    while pending:
        current = pop()
        if not isinstance(current, Node):
            continue  # an item of a list attribute that is no node (none in graphql-core)
        count += 1
        if release and current.loc is not None:
            current.loc.start_token = current.loc.end_token = RELEASED
        kind = type(current)
        keys = keys_of.get(kind)
        if keys is None:
            keys = keys_of[kind] = tuple(key for key in current.keys if key != "loc")
        for name in keys:
            value = getattr(current, name, None)
            if value is None or value.__class__ is str or value.__class__ is bool:
                continue
            if isinstance(value, Node):
                push(value)
            elif isinstance(value, tuple | list):
                extend(value)
    return count


class PreparedCache:
    def __init__(self, limits: CacheLimits) -> None:
        self.limits = limits
        self._entries: OrderedDict[Key, Prepared] = OrderedDict()
        self.held_bytes = 0  # the estimate of what the entries hold

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> Prepared | None:
        prepared = self._entries.get(key)
        if prepared is not None:
            self._entries.move_to_end(key)
        return prepared

    def keep(self, key: Key, prepared: Prepared, text_bytes: int) -> None:
        if text_bytes > self.limits.max_document_bytes:
            return
        self._entries[key] = prepared
        self.held_bytes += _held(prepared)
        self._evict()

    def planned(self, key: Key, prepared: Prepared) -> None:
        """A plan was added to `prepared`: it holds more now."""
        if self._entries.get(key) is prepared:
            self.held_bytes += prepared.nodes * PLAN_BYTES_PER_NODE
            self._evict()

    def _evict(self) -> None:
        while self._entries and (
            len(self._entries) > self.limits.max_entries or self.held_bytes > self.limits.max_bytes
        ):
            _, evicted = self._entries.popitem(last=False)
            self.held_bytes -= _held(evicted)


def _held(prepared: Prepared) -> int:
    return prepared.nodes * (DOCUMENT_BYTES_PER_NODE + PLAN_BYTES_PER_NODE * len(prepared.plans))
