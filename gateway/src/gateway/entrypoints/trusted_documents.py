"""Trusted documents: the operations a deployment's own clients send, listed in a manifest in
Apollo's persisted-query-manifest format (what `generate-persisted-query-manifest` writes,
and `make pq-manifest` for this repository's clients):

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "...", "name": "...", "type": "query", "body": "..."}]}

A client may send an operation by its id (`extensions.persistedQuery.sha256Hash`, as Apollo
clients and Apollo Router do; or `documentId`, as The Guild's guide and Relay's `doc_id`),
and, in strict mode, any operation that is not in the manifest is refused.

The file is read like the supergraph (a regular file of bounded size, polled by content) and
a content that does not parse leaves the manifest in service in place."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse, print_ast
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

__all__ = [
    "Manifest",
    "ManifestError",
    "ManifestWatcher",
    "TrustedMode",
    "introspection_only",
    "normalized_sha256",
]

log = logging.getLogger(__name__)

FORMAT = "apollo-persisted-query-manifest"
_OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
_MAX_ID_CHARS = 256


class TrustedMode(StrEnum):
    OFF = "off"  # no manifest: every operation runs
    LOG_UNKNOWN = "log_unknown"  # every operation runs; one not in the manifest is logged
    STRICT = "strict"  # only the manifest's operations (and introspection) run


class ManifestError(ValueError):
    """The content is not a manifest this gateway can serve."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalized_sha256(document: DocumentNode) -> str:
    """The digest of the document printed back: the same operation written with other
    whitespace, commas or comments has the same one."""
    return sha256(print_ast(document))


def introspection_only(document: DocumentNode) -> bool:
    """Every operation asks only `__schema`, `__type` or `__typename` at its root (what GraphiQL
    sends to learn the schema): nothing of the data, so strict mode lets it through."""
    fragments = {
        d.name.value: d.selection_set
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def only_meta(selections: SelectionSetNode, seen: frozenset[str]) -> bool:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_meta(selection.selection_set, seen):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    return False
                if not only_meta(fragments[name], seen | {name}):
                    return False
        return True

    return bool(operations) and all(only_meta(o.selection_set, frozenset()) for o in operations)


@dataclass(frozen=True)
class Manifest:
    by_id: dict[str, str]  # operation id -> its body
    body_digests: frozenset[str]  # sha256 of each body as written
    normalized_digests: frozenset[str]  # sha256 of each body printed back (normalized_sha256)
    sha256: str  # of the file's content, for logs

    @classmethod
    def parse(cls, content: bytes, max_tokens: int) -> Manifest:
        try:
            manifest = orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise ManifestError(f"not JSON: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ManifestError(f'expected an object with "format": "{FORMAT}"')
        if manifest.get("version") != 1:
            raise ManifestError('only "version": 1 is understood')
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError('"operations" must be a list')
        by_id: dict[str, str] = {}
        normalized: set[str] = set()
        for index, operation in enumerate(operations):
            where = f"operations[{index}]"
            if not isinstance(operation, dict):
                raise ManifestError(f"{where} is not an object")
            identifier, body = operation.get("id"), operation.get("body")
            if not isinstance(identifier, str) or not 0 < len(identifier) <= _MAX_ID_CHARS:
                raise ManifestError(f"{where}.id must be a string of 1 to {_MAX_ID_CHARS} chars")
            if not isinstance(body, str):
                raise ManifestError(f"{where}.body must be a string")
            kind = operation.get("type")
            if kind is not None and kind not in _OPERATION_TYPES:
                raise ManifestError(f"{where}.type must be one of {sorted(_OPERATION_TYPES)}")
            if by_id.get(identifier, body) != body:
                raise ManifestError(f"{where}.id {identifier!r} names two different bodies")
            try:
                document = parse(body, max_tokens=max_tokens)
            except GraphQLError as error:
                raise ManifestError(f"{where}.body is not GraphQL: {error.message}") from None
            by_id[identifier] = body
            normalized.add(normalized_sha256(document))
        return cls(
            by_id,
            frozenset(sha256(body) for body in by_id.values()),
            frozenset(normalized),
            hashlib.sha256(content).hexdigest(),
        )

    def __len__(self) -> int:
        return len(self.by_id)


class ManifestWatcher:
    """Reads the manifest with `read` at start (a failure raises: a gateway told to trust a
    manifest does not start without one), then every `poll_seconds`; a new content that
    parses is handed to `serve`, one that does not (or a file that cannot be read) is logged
    once and changes nothing."""

    def __init__(
        self,
        read: Callable[[], bytes],
        serve: Callable[[Manifest], None],
        *,
        max_tokens: int,
        poll_seconds: float | None,
        origin: str,
    ) -> None:
        self._read = read
        self._serve = serve
        self.max_tokens = max_tokens
        self.poll_seconds = poll_seconds
        self.origin = origin
        self._last_seen: str | None = None  # a digest, or the reason the file was refused

    def load(self) -> Manifest:
        content = self._read()
        manifest = Manifest.parse(content, self.max_tokens)
        self._serve(manifest)
        self._last_seen = manifest.sha256
        log.info("trusted documents loaded", extra=self._fields(manifest))
        return manifest

    async def check(self) -> str:
        """One look at the file: "applied", "unchanged", "rejected" or "unreadable"."""
        try:
            content = await asyncio.to_thread(self._read)
        except OSError as error:
            return self._refused("unreadable", f"unreadable: {error}", str(error))
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._last_seen:
            return "unchanged"
        try:
            manifest = await asyncio.to_thread(Manifest.parse, content, self.max_tokens)
        except ManifestError as error:
            return self._refused("rejected", digest, str(error))
        self._serve(manifest)
        self._last_seen = digest
        log.info("trusted documents reloaded", extra=self._fields(manifest))
        return "applied"

    def _refused(self, outcome: str, seen: str, reason: str) -> str:
        if seen == self._last_seen:  # reported when first seen, not at every poll
            return "unchanged"
        self._last_seen = seen
        log.error(
            "trusted documents not reloaded; the previous ones stay in service",
            extra={"manifest_path": self.origin, "outcome": outcome, "reason": reason[:2_000]},
        )
        return outcome

    def _fields(self, manifest: Manifest) -> dict[str, Any]:
        return {
            "manifest_path": self.origin,
            "operations": len(manifest),
            "sha256": manifest.sha256,
        }

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        if self.poll_seconds is None:
            yield
            return
        task = asyncio.create_task(self._poll(self.poll_seconds), name="trusted-documents")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.check()
            except Exception:  # a bug of ours must not end the watch
                log.exception("trusted documents reload failed", extra={"path": self.origin})
