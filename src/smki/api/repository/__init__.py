"""The SMKI Repository Interface over HTTP (R-REP-1..4, R-DOC-1/2): ``/repository/v1/``.

Readers sign in with an ARO token (``sessions``), then search and fetch certificates
(``certificates``), CRLs and ARLs (``revocation_lists``) and the documents they may see
(``documents``) with the session secret (``deps``). The domain is ``smki.repository``; this
package only turns HTTP into its calls and its answers into JSON, DER or PEM. Refusals are
problem+json through ``smki.api.problems`` like the Service Interface's.
"""

from __future__ import annotations

from fastapi import APIRouter

from smki.api.repository import (
    certificates,
    documents,
    extracts,
    revocation_lists,
    sessions,
    validate,
)
from smki.api.repository.deps import (
    SESSION_COOKIE,
    RepositoryState,
    open_repository,
    presented_secret,
    request_reader,
)

__all__ = [
    "SESSION_COOKIE",
    "RepositoryState",
    "create_repository_router",
    "open_repository",
    "presented_secret",
    "request_reader",
]


def create_repository_router() -> APIRouter:
    """Every ``/repository/v1/`` endpoint."""
    router = APIRouter()
    for module in (sessions, certificates, revocation_lists, documents, extracts, validate):
        router.include_router(module.router)
    return router
