"""Which document a request to /graphql runs: its `query` text, or an operation it names by id.

Automatic persisted queries (Apollo's protocol, as Apollo Router answers it):
- `extensions.persistedQuery = {"version": 1, "sha256Hash": H}` alone: the text registered
  under H runs; unknown, an error coded `PERSISTED_QUERY_NOT_FOUND` with the message
  "PersistedQueryNotFound" (Apollo clients look for either, then send the text), status 200
  and `Cache-Control: no-store`, as Apollo Router answers it;
- with `query`: H must be the sha256 of the text (else a 400 coded
  `PERSISTED_QUERY_HASH_MISMATCH`), and the text is kept under H once it has validated
  against the schema (a document that does not validate is never kept).
The store is this process's, bounded by bytes, least recently used out first; it holds
texts, not plans: the prepared-operation cache (federation/prepared_cache.py) is keyed by
the text's sha256 too, so a hash-only request finds the prepared operation a registering
one left, and a supergraph reload (a new, empty prepared cache) keeps the texts.

Trusted documents (trusted_documents.py) come first: an id found in the manifest runs the
manifest's body. In strict mode nothing else runs (an APQ hash that is not in the manifest is
refused, not looked up), except a text identical to a manifest body (so clients that send the
text, like the README's curl examples, keep working) and introspection (GraphiQL's schema).

Cost and admission are unchanged: the resolved text is prepared, admitted against the client's
budget and run like any other; a refusal here costs the client nothing."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, parse

from gateway.entrypoints.trusted_documents import (
    Manifest,
    TrustedMode,
    introspection_only,
    normalized_sha256,
)

__all__ = ["ApqStore", "Document", "PersistedDocuments", "Refused"]

log = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_MAX_ID_CHARS = 256
# what an entry holds besides its text: the key, the string objects, the ordered dict's node
_ENTRY_OVERHEAD_BYTES = 200
_LOGGED_UNKNOWN = 4_096  # distinct unknown operations logged once each, at most this many
NO_STORE = (b"cache-control", b"no-store")


class Refused(Exception):
    """The request names no document this gateway will run: answered as is."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = [NO_STORE]  # a client that registers next must not meet a cached miss

    def errors(self) -> list[dict[str, Any]]:
        return [{"message": str(self), "extensions": {"code": self.code}}]

    def payload(self) -> bytes:
        return orjson.dumps({"errors": self.errors()})


@dataclass(frozen=True)
class Document:
    text: str
    register_as: str | None = None  # an APQ hash to keep the text under once it validated


class ApqStore:
    """Texts by their sha256, at most `max_bytes` of them (text, key and overhead counted),
    least recently used out first. A text larger than the whole store is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self._texts: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, digest: str) -> str | None:
        text = self._texts.get(digest)
        if text is not None:
            self._texts.move_to_end(digest)
        return text

    def keep(self, digest: str, text: str) -> None:
        size = _size(digest, text)
        if size > self.max_bytes:
            return
        replaced = self._texts.pop(digest, None)
        if replaced is not None:
            self.held_bytes -= _size(digest, replaced)
        self._texts[digest] = text
        self.held_bytes += size
        while self.held_bytes > self.max_bytes:
            evicted, evicted_text = self._texts.popitem(last=False)
            self.held_bytes -= _size(evicted, evicted_text)


def _size(digest: str, text: str) -> int:
    return len(digest) + len(text.encode()) + _ENTRY_OVERHEAD_BYTES


class PersistedDocuments:
    def __init__(
        self,
        apq: ApqStore | None = None,
        mode: TrustedMode = TrustedMode.OFF,
        manifest: Manifest | None = None,
        max_tokens: int = 10_000,
    ) -> None:
        self.apq = apq  # None: APQ is off (PERSISTED_QUERY_NOT_SUPPORTED)
        self.mode = mode
        self.manifest = manifest  # replaced as one reference when the file changes
        self.max_tokens = max_tokens
        self._logged: OrderedDict[str, None] = OrderedDict()

    def use_manifest(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def resolve(self, body: dict[str, Any]) -> Document:
        """The document `body` asks to run; Refused when there is none to run."""
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise Refused(400, "BAD_REQUEST", "`query` must be a string")
        identifier = _operation_id(body)
        if identifier is None:
            if query is None:
                raise Refused(
                    400,
                    "BAD_REQUEST",
                    "expected a JSON object with a `query` string (or a persisted operation's "
                    "id in `extensions.persistedQuery`)",
                )
            self._check_freeform(query, body.get("operationName"))
            return Document(query)
        if query is not None:  # APQ registration: the text with its hash
            if hashlib.sha256(query.encode()).hexdigest() != identifier.lower():
                raise Refused(
                    400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
                )
            self._check_freeform(query, body.get("operationName"))
            registers = self.apq is not None and self.mode is not TrustedMode.STRICT
            return Document(query, identifier.lower() if registers else None)
        manifest = self.manifest
        if manifest is not None and self.mode is not TrustedMode.OFF:
            trusted = manifest.by_id.get(identifier)
            if trusted is not None:
                return Document(trusted)
        if self.mode is TrustedMode.STRICT:
            raise Refused(
                400,
                "PERSISTED_QUERY_NOT_IN_LIST",
                f"persisted operation {identifier!r} is not in this gateway's trusted documents",
            )
        if self.apq is None:
            raise Refused(400, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        text = self.apq.get(identifier.lower())
        if text is None:
            raise Refused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return Document(text)

    def validated(self, document: Document) -> None:
        """`document` parsed and validated against the schema: keep it if it registers."""
        if document.register_as is not None and self.apq is not None:
            self.apq.keep(document.register_as, document.text)

    def _check_freeform(self, text: str, operation_name: Any) -> None:
        """A text sent as is: in strict mode it must be a manifest body (or introspection); in
        log_unknown mode, one that is not is logged."""
        if self.mode is TrustedMode.OFF:
            return
        digest = hashlib.sha256(text.encode()).hexdigest()
        manifest = self.manifest
        if manifest is not None and digest in manifest.body_digests:
            return
        if digest in self._logged:  # an unknown text seen before: logged, and not parsed again
            return
        try:
            document = parse(text, max_tokens=self.max_tokens)
        except GraphQLError:
            document = None  # the pipeline answers its own error, if it gets to run it
        if document is not None and (
            introspection_only(document)
            or (manifest is not None and normalized_sha256(document) in manifest.normalized_digests)
        ):
            return
        if self.mode is TrustedMode.STRICT:
            raise Refused(
                400,
                "PERSISTED_QUERY_NOT_IN_LIST",
                "this gateway runs only its trusted documents: send a listed operation, by "
                "its id in `extensions.persistedQuery.sha256Hash` or as its exact text",
            )
        self._log_unknown(digest, text, operation_name)

    def _log_unknown(self, digest: str, text: str, operation_name: Any) -> None:
        # once per operation (a client sending one 1,000 times a second floods no log)
        if digest in self._logged:
            return
        self._logged[digest] = None
        if len(self._logged) > _LOGGED_UNKNOWN:
            self._logged.popitem(last=False)
        log.warning(
            "unknown operation",
            extra={
                "operation_sha256": digest,
                "operation_name": operation_name if isinstance(operation_name, str) else None,
                "operation_body": text[:2_000],
            },
        )


def _operation_id(body: dict[str, Any]) -> str | None:
    """The id a request names its operation by: `extensions.persistedQuery.sha256Hash`
    (Apollo), or `documentId` / `doc_id` (The Guild's trusted documents, Relay)."""
    extensions = body.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise Refused(400, "BAD_REQUEST", "`extensions` must be an object")
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is not None:
        if not isinstance(persisted, dict):
            raise Refused(400, "BAD_REQUEST", "`extensions.persistedQuery` must be an object")
        if persisted.get("version") != 1:
            raise Refused(
                400,
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "only `extensions.persistedQuery.version` 1 is supported",
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise Refused(
                400,
                "BAD_REQUEST",
                "`extensions.persistedQuery.sha256Hash` must be a sha256 in hexadecimal",
            )
        return digest
    for name in ("documentId", "doc_id"):
        identifier = body.get(name)
        if identifier is not None:
            if not isinstance(identifier, str) or not 0 < len(identifier) <= _MAX_ID_CHARS:
                raise Refused(
                    400, "BAD_REQUEST", f"`{name}` must be a string of 1 to {_MAX_ID_CHARS} chars"
                )
            return identifier
    return None
