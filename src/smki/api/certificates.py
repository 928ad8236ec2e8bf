"""Single CSR (R-SI-1): ``POST /smki/v1/certificates``.

An authenticated ARO of an Eligible Subscriber sends one PKCS#10 (``application/pkcs10``, DER
or PEM). The profile comes from the CSR (empty subject + HardwareModuleName → Device; OU +
uniqueIdentifier → Organisation); the RA checks it (R-SI-3), the party's entitlement
(R-PART-3) and that it is not a duplicate request, then the issuance cycle runs (R-CA-4).
The answer is ``201`` with the certificate — PEM, or DER for ``Accept: application/pkix-cert``
— and its place in the repository in ``Location``.

Issuance is synchronous, CPU and database bound: it runs in the threadpool, never on the
event loop. Every refusal happens before anything is written (R-SI-3).
"""

from __future__ import annotations

import logging
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from smki.api.auth import AroDep
from smki.api.bodies import read_body, require_media_type
from smki.api.problems import problem_responses
from smki.api.runtime import Runtime, RuntimeDep
from smki.ca.issuer import Issued
from smki.ca.serials import serial_hex
from smki.errors import InputError, SmkiError
from smki.ra import duplicates
from smki.ra.authentication import AuthenticatedAro
from smki.ra.csr import check_csr
from smki.ra.direct import issue_request
from smki.ra.eligibility import check_entitled

log = logging.getLogger("smki.api")

CERTIFICATES_PATH: Final = "/smki/v1/certificates"
#: Where the repository serves a certificate by serial (R-REP-2; the endpoint comes with the
#: repository work, the header is set now).
REPOSITORY_CERTIFICATE: Final = "/repository/v1/certificates/{serial}"
PKCS10: Final = "application/pkcs10"
PEM: Final = "application/x-pem-file"
DER: Final = "application/pkix-cert"
#: A P-256 CSR is a few hundred octets; anything near this is not one (R-SI-3).
MAX_CSR_OCTETS: Final = 64 * 1024

router = APIRouter(tags=["certificates"])


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for element in accept.split(","):
        media, *params = element.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if media.strip():
            ranges.append((media.strip().lower(), quality))
    return ranges


def choose_format(accept: str | None) -> str:
    """PEM unless the client prefers DER (``application/pkix-cert``); 406 if it takes neither.

    The most specific matching range gives an offer its quality (RFC 9110 §12.5.1); on a tie
    the more specific match wins, then PEM."""
    if accept is None or not accept.strip():
        return PEM
    ranges = _ranges(accept)

    def preference(offer: str) -> tuple[float, int]:
        best: tuple[float, int] = (0.0, -1)
        for media, quality in ranges:
            if media == offer:
                specificity = 2
            elif media == offer.split("/")[0] + "/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if specificity > best[1]:
                best = (quality, specificity)
        return best

    chosen = max((PEM, DER), key=preference)
    if preference(chosen)[0] <= 0:
        raise InputError(
            f"the certificate is served as {PEM} or {DER}; the request accepts neither",
            code="not-acceptable",
        )
    return chosen


def issue_single(rt: Runtime, aro: AuthenticatedAro, csr: bytes) -> tuple[Issued, str]:
    """The RA's checks, the duplicate-request claim and the issuance cycle, in that order.
    Returns the issued certificate and its kind."""
    services = rt.services
    request = check_csr(csr)
    actor = rt.actor(aro.officer.id)
    name = duplicates.RequestName(rt.env, aro.party.id, request.csr_sha256)
    with services.store.transaction() as tx:
        check_entitled(tx, rt.eligibility, aro.party, request)
        duplicates.claim(tx, services.clock, name, str(request.kind), actor)
    try:
        issued = issue_request(
            services.store,
            services.clock,
            services.linter(rt.env),
            services.config,
            services.issuing_authority,
            rt.env,
            request,
            actor,
        )
    except Exception as exc:
        code = exc.code if isinstance(exc, SmkiError) else "internal"
        try:
            duplicates.release(services.store, services.clock, name, code, actor)
        except Exception:
            log.exception("could not release the request claim %s", name.key)
        raise
    duplicates.settle(services.store, services.clock, name, issued, actor)
    return issued, str(request.kind)


@router.post(
    CERTIFICATES_PATH,
    status_code=201,
    response_class=Response,
    summary="Request one certificate from one CSR (R-SI-1)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One PKCS#10 CSR, DER or PEM, at most 64 KiB.",
            "content": {PKCS10: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        201: {
            "description": "The certificate (PEM by default, DER on request).",
            "content": {
                PEM: {"schema": {"type": "string"}},
                DER: {"schema": {"type": "string", "format": "binary"}},
            },
            "headers": {
                "Location": {
                    "description": "The certificate in the repository",
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(400, 401, 403, 406, 409, 413, 415, 422, 503),
    },
)
async def request_certificate(request: Request, rt: RuntimeDep, aro: AroDep) -> Response:
    """A Device or an Organisation Certificate, chosen by the CSR, for the ARO's party."""
    output = choose_format(request.headers.get("accept"))
    require_media_type(request, PKCS10)
    body = await read_body(request, MAX_CSR_OCTETS)
    issued, kind = await run_in_threadpool(issue_single, rt, aro, body)
    rt.metrics.issued.inc(kind)
    content = issued.der
    if output == PEM:
        content = x509.load_der_x509_certificate(issued.der).public_bytes(Encoding.PEM)
    return Response(
        content,
        status_code=201,
        media_type=output,
        headers={
            "Location": REPOSITORY_CERTIFICATE.format(serial=serial_hex(issued.serial)),
            "Vary": "Accept",
        },
    )
