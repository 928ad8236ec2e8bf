"""Files a signed-in reader downloads from the portal (R-REP-2, R-REP-5, R-REP-7, R-DOC-1).

Certificates as DER or PEM, revocation lists as DER ``.crl`` files (an ARL too: it is a CRL
signed by a root), documents with the media type they were published with. Every download is
an attachment and carries ``X-Content-Type-Options: nosniff``, and the CSP of a download adds
``sandbox``: a document published as HTML is saved, never run as a page of this origin.
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smki.ra.repository_access import Reader
from smki.repository.documents import DOCUMENT_EXTENSIONS, DocumentKind, read_document
from smki.web.context import PortalServices
from smki.web.pages import find_certificate
from smki.web.rendering import CONTENT_SECURITY_POLICY, pem_text
from smki.web.session import signed_in

CERTIFICATE_DER: Final = "application/pkix-cert"
CERTIFICATE_PEM: Final = "application/x-pem-file"
CRL_DER: Final = "application/pkix-crl"
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")

router = APIRouter()


def file_name(stem: str, extension: str) -> str:
    """A file name safe in a Content-Disposition header and on any file system."""
    return _UNSAFE_IN_FILE_NAME.sub("_", stem)[:100] + extension


def attachment(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; sandbox",
        },
    )


def _certificate(request: Request, serial: str, as_pem: bool) -> Response:
    issuer = request.query_params.get("issuer", "")

    def download(services: PortalServices, reader: Reader) -> Response:
        found = find_certificate(services, serial, issuer)
        stem = f"{found.view.issuer}-{found.view.serial}"
        if as_pem:
            pem = pem_text(found.der).encode("ascii")
            return attachment(pem, CERTIFICATE_PEM, file_name(stem, ".pem"))
        return attachment(found.der, CERTIFICATE_DER, file_name(stem, ".cer"))

    return signed_in(request, download)


@router.get("/certificates/{serial}/download.der")
def certificate_der(request: Request, serial: str) -> Response:
    return _certificate(request, serial, as_pem=False)


@router.get("/certificates/{serial}/download.pem")
def certificate_pem(request: Request, serial: str) -> Response:
    return _certificate(request, serial, as_pem=True)


def _revocation_list(request: Request, authority: str, number: int | None) -> Response:
    def download(services: PortalServices, reader: Reader) -> Response:
        row = services.catalogue.revocation_list(authority, number)
        name = file_name(f"{authority}-{row.list_kind}-{row.number}", ".crl")
        return attachment(row.der, CRL_DER, name)

    return signed_in(request, download)


@router.get("/revocation-lists/{authority}/download")
def current_list(request: Request, authority: str) -> Response:
    """The CA's current CRL (issuing CA) or ARL (root), DER (R-REP-5)."""
    return _revocation_list(request, authority, None)


@router.get("/revocation-lists/{authority}/{number:int}/download")
def numbered_list(request: Request, authority: str, number: int) -> Response:
    """The CA's list with this CRL number, DER (R-REP-5)."""
    return _revocation_list(request, authority, number)


@router.get("/documents/{kind}/{version:int}/download")
def document(request: Request, kind: str, version: int) -> Response:
    """One version of a document; a CPS only to the SMKI PMA and the DCC (R-DOC-2)."""

    def download(services: PortalServices, reader: Reader) -> Response:
        wanted = DocumentKind.parse(kind)
        with services.store.reading() as tx:
            row = read_document(tx, reader, wanted, version)
        extension = DOCUMENT_EXTENSIONS.get(row.media_type, "")
        name = file_name(f"{wanted.value}-v{row.version}", extension)
        response = attachment(row.content, row.media_type, name)
        response.headers["ETag"] = f'"{row.sha256.hex()}"'
        return response

    return signed_in(request, download)
