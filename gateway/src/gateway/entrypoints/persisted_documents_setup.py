"""The persisted operations of a gateway, made from its settings: the APQ store and, when a
trusted-documents mode is on, the watcher that loads the manifest and keeps it current."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gateway.entrypoints.persisted_queries import ApqStore, PersistedDocuments
from gateway.entrypoints.supergraph_file import SupergraphFile
from gateway.entrypoints.trusted_documents import ManifestWatcher, TrustedMode

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings

__all__ = ["manifest_watcher_running", "persisted_documents"]


def persisted_documents(
    settings: GatewaySettings,
) -> tuple[PersistedDocuments, ManifestWatcher | None]:
    documents = PersistedDocuments(
        ApqStore(settings.apq_max_bytes) if settings.apq_enabled else None,
        settings.trusted_documents_mode,
        max_tokens=settings.max_tokens,
    )
    path = settings.trusted_documents_path
    if settings.trusted_documents_mode is TrustedMode.OFF or path is None:
        return documents, None
    watcher = ManifestWatcher(
        # the supergraph's reader: a regular file (symlinks followed) of bounded size
        SupergraphFile(path, settings.trusted_documents_max_bytes).read,
        documents.use_manifest,
        max_tokens=settings.max_tokens,
        poll_seconds=settings.supergraph_poll_seconds if settings.supergraph_watch else None,
        origin=str(path),
    )
    return documents, watcher


@contextlib.asynccontextmanager
async def manifest_watcher_running(watcher: ManifestWatcher | None) -> AsyncIterator[None]:
    if watcher is None:
        yield
        return
    async with watcher.running():
        yield
