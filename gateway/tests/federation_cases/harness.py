"""Runs a federation case in-process: each subgraph's SDL is made executable with
graphql-core (plus `_entities` and `_service`, as a federation subgraph library adds them),
and the gateway's executor reaches the subgraphs through a transport that calls them
directly instead of over HTTP. Everything else, from parsing to shaping, is the gateway's
own code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    build_ast_schema,
    graphql,
    parse,
)
from supergraph import case_url  # tools/: the URL its supergraph was composed with

from gateway.federation.executor import Executor
from gateway.federation.override import OverrideLabels
from gateway.federation.pipeline import Gateway
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphReply, SubgraphTransport

__all__ = ["Case", "SdlSubgraph", "run_case"]

CASES = Path(__file__).resolve().parent

Resolver = Callable[..., Any]
Reference = Callable[[dict[str, Any]], Any]


def _directive_names(node: Any) -> set[str]:
    return {d.name.value for d in getattr(node, "directives", None) or ()}


@dataclass
class SdlSubgraph:
    """A subgraph from its SDL and its resolvers. A field without a resolver reads the key of
    the same name from its parent (a dict); an entity without a reference resolver is the
    representation itself."""

    name: str
    sdl: str
    resolvers: Mapping[str, Mapping[str, Resolver]] = field(default_factory=dict)
    references: Mapping[str, Reference] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.schema = self._executable()

    def _executable(self) -> GraphQLSchema:
        document = parse(self.sdl)
        objects = [d for d in document.definitions if isinstance(d, ObjectTypeDefinitionNode)]
        keyed_interfaces = {
            d.name.value
            for d in document.definitions
            if isinstance(d, InterfaceTypeDefinitionNode) and "key" in _directive_names(d)
        }
        entities = sorted(
            {
                d.name.value
                for d in objects
                if "key" in _directive_names(d)
                or keyed_interfaces & {i.name.value for i in d.interfaces or ()}
            }
        )
        has_query = any(d.name.value == "Query" for d in objects)
        additions = ["scalar _Any", "type _Service { sdl: String }"]
        root_fields = ["_service: _Service!"]
        if entities:
            additions.append(f"union _Entity = {' | '.join(entities)}")
            root_fields.append("_entities(representations: [_Any!]!): [_Entity]!")
        query = "extend type Query" if has_query else "type Query"
        additions.append(f"{query} {{ {' '.join(root_fields)} }}")
        schema = build_ast_schema(
            parse(self.sdl + "\n" + "\n".join(additions)), assume_valid_sdl=True
        )
        for type_name, fields in self.resolvers.items():
            named = schema.get_type(type_name)
            assert isinstance(named, GraphQLObjectType), f"{self.name} has no type {type_name}"
            for field_name, resolve in fields.items():
                named.fields[field_name].resolve = _adapted(resolve)
        query_type = schema.query_type
        assert query_type is not None
        query_type.fields["_service"].resolve = lambda *_: {"sdl": self.sdl}
        if entities:
            query_type.fields["_entities"].resolve = self._entities
        return schema

    def _entities(self, _root: Any, _info: Any, representations: list[dict[str, Any]]) -> Any:
        found = []
        for representation in representations:
            type_name = representation["__typename"]
            reference = self.references.get(type_name)
            entity = reference(representation) if reference else dict(representation)
            if isinstance(entity, dict) and "__typename" not in entity:
                entity = {**entity, "__typename": type_name}
            found.append(entity)
        return found

    async def execute(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        self.calls.append({"query": query, "variables": variables})
        result = await graphql(self.schema, query, variable_values=variables)
        return result.formatted


def _adapted(resolve: Resolver) -> Resolver:
    """Case resolvers take (parent, **arguments); graphql-core also passes `info`."""

    def call(parent: Any, _info: Any, **arguments: Any) -> Any:
        return resolve(parent, **arguments)

    return call


class InProcess(SubgraphTransport):
    """The executor's transport, calling the case's subgraphs directly."""

    def __init__(self, subgraphs: Mapping[str, SdlSubgraph]) -> None:
        super().__init__(timeout=5, deduplicate=False)
        self.by_url = dict(subgraphs)

    async def post(self, url: str, body: bytes, *, shareable: bool) -> SubgraphReply:
        request = orjson.loads(body)
        answer = await self.by_url[url].execute(request["query"], request.get("variables"))
        return SubgraphReply(200, orjson.dumps(answer))


@dataclass
class Case:
    name: str
    subgraphs: dict[str, SdlSubgraph]

    @property
    def folder(self) -> Path:
        return CASES / self.name

    def supergraph(self) -> Supergraph:
        return Supergraph.parse((self.folder / "supergraph.graphql").read_text())

    def gateway(self, override: OverrideLabels | None = None) -> Gateway:
        supergraph = self.supergraph()
        by_url = {case_url(self.name, name): sub for name, sub in self.subgraphs.items()}
        urls = {graph: sub.url for graph, sub in supergraph.subgraphs.items()}
        executor = Executor(supergraph.subgraphs, urls, InProcess(by_url))
        return Gateway(supergraph, executor, override=override)

    def reset_calls(self) -> None:
        for subgraph in self.subgraphs.values():
            subgraph.calls.clear()

    def calls(self) -> dict[str, int]:
        return {name: len(sub.calls) for name, sub in self.subgraphs.items()}


def subgraph_sdl(case: str, subgraph: str) -> str:
    return (CASES / case / f"{subgraph}.graphql").read_text()


async def run_case(
    case: Case, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One operation through a fresh gateway; the subgraphs' call lists start empty (and
    hold this operation's calls). The operation is run a second time the way the GraphQL
    endpoint runs it, twice (`encoded`: an answer one subgraph gives whole is decoded
    natively, merged answers encoded natively from a plan's second answer on:
    native_shape.py), which must answer the same, key order included."""
    case.reset_calls()
    gateway = case.gateway()
    answer = await gateway.execute(query, variables)
    calls = {name: list(sub.calls) for name, sub in case.subgraphs.items()}
    prepared = gateway.prepare(query, None)
    admitted = gateway.admit(prepared, variables, None)
    for _ in range(2):  # a plan's merged answers are encoded natively from its second one
        encoded = await gateway.run(prepared, admitted, variables, None, encoded=True)
        assert orjson.dumps(orjson.loads(orjson.dumps(encoded))) == orjson.dumps(answer)
    for name, sub in case.subgraphs.items():
        sub.calls[:] = calls[name]
    return answer
