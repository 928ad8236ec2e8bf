"""Certificates in the repository (R-REP-1, R-REP-2): search, and fetch by serial.

``GET /repository/v1/certificates`` searches by EUI-64 (an Organisation Certificate's subject
uniqueIdentifier or a Device Certificate's hwSerialNum), Remote Party Role, key usage, status,
issuer, kind and serial; the filters combine, and pages follow a cursor (keyset pagination, so
a page costs the same at the millionth certificate). ``GET …/certificates/{serial}`` answers
the GBCS view as JSON, or the certificate itself as DER or PEM (``negotiation``).

Every handler is a plain ``def``: FastAPI runs it in its threadpool, so the store read (one
read-only snapshot per request, R-REP-4) never blocks the event loop. The page is written
straight to JSON, without a response model to validate it again.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from smki.api.problems import problem_responses
from smki.api.repository.deps import ReaderDep, RepositoryDep
from smki.api.repository.negotiation import CERTIFICATE_FORMS, JSON, PEM, choose_form, pem
from smki.errors import InputError
from smki.repository.search import parse_query, parse_serial

CERTIFICATES_PATH: Final = "/repository/v1/certificates"
#: ``limit`` is digits only; seven of them are already far above the largest page.
_LIMIT_DIGITS: Final = 7

router = APIRouter(tags=["repository"])


class CertificateViewModel(BaseModel):
    """``smki.repository.views.CertificateView`` (for the OpenAPI description)."""

    serial: str = Field(examples=["4F1A2B3C4D5E6F708192A3B4C5D6E7F8"])
    issuer: str = Field(examples=["issuing-oca"])
    kind: str = Field(examples=["organisation"])
    subject: str = Field(description="RFC 4514; empty for a Device Certificate")
    eui64: str | None = Field(examples=["90B3D51F30010000"])
    role: int | None = Field(examples=[2])
    role_name: str | None = Field(examples=["supplier"])
    key_usage: str = Field(examples=["ds"])
    key_usage_name: str = Field(examples=["digitalSignature"])
    status: str = Field(examples=["in-use"], description="in-use, revoked, suspended, expired")
    not_before: str
    not_after: str | None = Field(description="null: a Device Certificate never expires")
    issued_at: str
    revoked_at: str | None
    revocation_reason: str | None


class CertificatePage(BaseModel):
    items: list[CertificateViewModel]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done")


def _limit(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > _LIMIT_DIGITS:
        raise InputError("limit must be a whole number", code="bad-limit", rid="R-REP-2")
    return int(text)


@router.get(
    CERTIFICATES_PATH,
    summary="Search certificates (R-REP-2)",
    responses={
        200: {"model": CertificatePage, "description": "One page of matches, in issue order."},
        **problem_responses(400, 401, 403, 503),
    },
)
def search_certificates(
    reader: ReaderDep,
    repo: RepositoryDep,
    eui: Annotated[str | None, Query(description="EUI-64, 16 hex digits")] = None,
    role: Annotated[str | None, Query(description="Remote Party Role, e.g. 02")] = None,
    usage: Annotated[str | None, Query(description="ds or ka")] = None,
    status: Annotated[str | None, Query(description="in-use, revoked, suspended, expired")] = None,
    issuer: Annotated[str | None, Query(description="issuing authority, e.g. issuing-oca")] = None,
    kind: Annotated[str | None, Query(description="device, organisation, …")] = None,
    serial: Annotated[str | None, Query(description="hexadecimal")] = None,
    limit: Annotated[str | None, Query(description="1–1000, default 50")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JSONResponse:
    """Certificates matching every filter given, oldest first."""
    del reader  # every reader may search (R-REP-3); the dependency is the access check
    query = parse_query(
        authorities=repo.catalogue.issuer_ids(issuer),
        serial=serial,
        eui=eui,
        role=role,
        usage=usage,
        status=status,
        issuer=issuer,
        kind=kind,
        limit=_limit(limit),
        cursor=cursor,
    )
    page = repo.catalogue.search(query)
    items = [view.as_json() for view in page.items]
    return JSONResponse({"items": items, "next_cursor": page.next_cursor})


@router.get(
    CERTIFICATES_PATH + "/{serial}",
    summary="One certificate by serial: JSON view, DER or PEM (R-REP-2)",
    responses={
        200: {
            "description": "The view (JSON, the default), or the certificate (DER or PEM).",
            "content": {
                JSON: {"schema": CertificateViewModel.model_json_schema()},
                "application/pkix-cert": {"schema": {"type": "string", "format": "binary"}},
                PEM: {"schema": {"type": "string"}},
            },
        },
        **problem_responses(400, 401, 403, 404, 406, 409, 503),
    },
)
def certificate_by_serial(
    request: Request,
    reader: ReaderDep,
    repo: RepositoryDep,
    serial: str,
    issuer: Annotated[
        str | None, Query(description="the issuing authority, when serials collide")
    ] = None,
    output: Annotated[
        str | None, Query(alias="format", description="json, der or pem; overrides Accept")
    ] = None,
) -> Response:
    """The certificate with this serial (hexadecimal; ``:`` separators allowed)."""
    del reader  # every reader may fetch certificates (R-REP-3)
    form = choose_form(CERTIFICATE_FORMS, output, request.headers.get("accept"), "R-REP-2")
    number = parse_serial(serial)
    found = repo.catalogue.certificate(number, repo.catalogue.issuer_id(issuer))
    headers = {"Vary": "Accept"}
    if form.media_type == JSON:
        return JSONResponse(found.view.as_json(), headers=headers)
    content = found.der if form.name == "der" else pem(found.der, "CERTIFICATE")
    return Response(content, media_type=form.media_type, headers=headers)
