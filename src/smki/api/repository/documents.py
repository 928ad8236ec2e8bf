"""The SMKI Document Set in the repository (R-DOC-1, R-DOC-2, R-REP-1).

``GET /repository/v1/documents`` lists the versions the reader may see: the Device,
Organisation and IKI CPSs are confidential, listed to and served to the SMKI PMA and the DCC
only (``smki.repository.documents``). ``GET …/documents/{kind}`` answers the latest version and
``…/{kind}/{version}`` that version: the bytes as published, with their media type and
``ETag: "<SHA-256 in hex>"`` (``If-None-Match`` with it answers ``304``).

Documents are downloads, never pages of this origin: they are sent as attachments with
``nosniff`` and a sandboxing Content-Security-Policy, so a published HTML document cannot run
script beside the portal's session cookie.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from smki.api.problems import problem_responses
from smki.api.repository.deps import ReaderDep, RepositoryDep
from smki.api.repository.params import iso, parse_number
from smki.ra.repository_access import Reader
from smki.repository.documents import (
    DOCUMENT_EXTENSIONS,
    DocumentKind,
    read_document,
    visible_documents,
)
from smki.storage.api import DocumentRow

DOCUMENTS_PATH: Final = "/repository/v1/documents"
_DOWNLOAD_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "private, no-cache",
}

router = APIRouter(tags=["repository"])


class DocumentModel(BaseModel):
    kind: str = Field(examples=["device-cp"])
    version: int
    title: str
    media_type: str = Field(examples=["application/pdf"])
    sha256: str = Field(description="SHA-256 of the content, hex; also the ETag")
    size: int
    confidential: bool
    approved_by: str = Field(description="The SMKI PMA decision that approved this version")
    published_at: str


class DocumentListing(BaseModel):
    items: list[DocumentModel]


def _listed(row: DocumentRow) -> dict[str, object]:
    return {
        "kind": row.kind,
        "version": row.version,
        "title": row.title,
        "media_type": row.media_type,
        "sha256": row.sha256.hex(),
        "size": row.size,
        "confidential": row.confidential,
        "approved_by": row.approved_by,
        "published_at": iso(row.published_at),
    }


def etag(row: DocumentRow) -> str:
    return f'"{row.sha256.hex()}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return any(c == "*" or hmac.compare_digest(c.encode(), tag.encode()) for c in candidates)


@router.get(
    DOCUMENTS_PATH,
    summary="The documents the reader may see, every version (R-DOC-1, R-DOC-2)",
    responses={200: {"model": DocumentListing}, **problem_responses(401, 403, 503)},
)
def list_documents(reader: ReaderDep, repo: RepositoryDep) -> JSONResponse:
    with repo.store.reading() as tx:
        rows = visible_documents(tx, reader)
    return JSONResponse({"items": [_listed(row) for row in rows]})


def _serve(
    request: Request, repo: RepositoryDep, reader: Reader, kind: str, version: int | None
) -> Response:
    wanted = DocumentKind.parse(kind)
    with repo.store.reading() as tx:
        row = read_document(tx, reader, wanted, version)
    tag = etag(row)
    headers = {"ETag": tag, **_DOWNLOAD_HEADERS}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    filename = f"{row.kind}-v{row.version}{DOCUMENT_EXTENSIONS.get(row.media_type, '')}"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(row.content, media_type=row.media_type, headers=headers)


_DOCUMENT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The document's bytes with its media type; ETag is its SHA-256.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "If-None-Match matched the ETag"},
    **problem_responses(400, 401, 403, 404, 503),
}


@router.get(
    DOCUMENTS_PATH + "/{kind}",
    summary="The latest version of a document (R-DOC-1)",
    response_class=Response,
    responses=_DOCUMENT_RESPONSES,
)
def latest_document(
    request: Request, reader: ReaderDep, repo: RepositoryDep, kind: str
) -> Response:
    """403 ``confidential-document`` for a CPS unless the reader is the SMKI PMA or the DCC."""
    return _serve(request, repo, reader, kind, None)


@router.get(
    DOCUMENTS_PATH + "/{kind}/{version}",
    summary="One version of a document (R-DOC-1)",
    response_class=Response,
    responses=_DOCUMENT_RESPONSES,
)
def document_version(
    request: Request, reader: ReaderDep, repo: RepositoryDep, kind: str, version: str
) -> Response:
    number = parse_number(version, "a document version", "R-DOC-1")
    return _serve(request, repo, reader, kind, number)
