"""Single CSR (R-SI-1): ``POST /smki/v1/certificates``.

An authenticated ARO of an Eligible Subscriber sends one PKCS#10 (``application/pkcs10``, DER
or PEM). The profile comes from the CSR (empty subject + HardwareModuleName → Device; OU +
uniqueIdentifier → Organisation); the RA checks it (R-SI-3), the party's entitlement
(R-PART-3) and that it is not a duplicate request, then the issuance cycle runs (R-CA-4).
The answer is ``201`` with the certificate — PEM, or DER for ``Accept: application/pkix-cert``
— and its place in the repository in ``Location``.

CPU work runs in worker threads, never on the event loop, within the runtime's bound on
concurrent work; the two writes join the process's group commit, so that concurrent requests
share transactions (R-PERF-1). Every refusal happens before anything is written (R-SI-3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials

from smki.api.accept import accept_ranges, offer_match
from smki.api.auth import bearer_scheme
from smki.api.bodies import read_body, require_media_type
from smki.api.problems import problem_responses
from smki.api.recording import STATE_PARTY_ID
from smki.api.runtime import Runtime, RuntimeDep
from smki.ca.authority import LoadedAuthority
from smki.ca.issuer import (
    Draft,
    Issued,
    Reservation,
    draft_tbs,
    record_intent,
    sign_reserved,
    store_issued,
)
from smki.ca.serials import serial_hex
from smki.errors import Conflict, InputError, SmkiError
from smki.failpoints import hit
from smki.profiles.kinds import Environment, Pki
from smki.ra import duplicates
from smki.ra.authentication import AuthenticatedAro, TokenUse, authenticate_reading
from smki.ra.csr import CertificateRequest, DeviceRequest, check_csr
from smki.ra.device_batch import draft_device
from smki.ra.direct import Plan, plan_request
from smki.ra.eligibility import check_entitled
from smki.storage.api import Transaction

log = logging.getLogger("smki.api")

CERTIFICATES_PATH: Final = "/smki/v1/certificates"
#: Where the repository serves a certificate by serial (R-REP-2; the endpoint comes with the
#: repository work, the header is set now).
REPOSITORY_CERTIFICATE: Final = "/repository/v1/certificates/{serial}"
PKCS10: Final = "application/pkcs10"
PEM: Final = "application/x-pem-file"
DER: Final = "application/pkix-cert"
#: Loads of the issuing CA per request, should it change in the store meanwhile.
_AUTHORITY_ATTEMPTS: Final = 3
#: A P-256 CSR is a few hundred octets; anything near this is not one (R-SI-3).
MAX_CSR_OCTETS: Final = 64 * 1024

router = APIRouter(tags=["certificates"])


def choose_format(accept: str | None) -> str:
    """PEM unless the client prefers DER (``application/pkix-cert``); 406 if it takes neither.

    The most specific matching range gives an offer its quality (RFC 9110 §12.5.1); on a tie
    the more specific match wins, then PEM."""
    if accept is None or not accept.strip():
        return PEM
    ranges = accept_ranges(accept)
    # (quality, specificity) compared as a tuple; max keeps the first (PEM) on a full tie.
    chosen = max((PEM, DER), key=lambda offer: offer_match(offer, ranges))
    if offer_match(chosen, ranges)[0] <= 0:
        raise InputError(
            f"the certificate is served as {PEM} or {DER}; the request accepts neither",
            code="not-acceptable",
        )
    return chosen


@dataclass(frozen=True)
class _Drafted:
    """A request's TBS, built and linted with the issuing CA as cached, before any write."""

    plan: Plan
    draft: Draft
    used: tuple[tuple[Pki, LoadedAuthority], ...]


def _drafted(rt: Runtime, request: CertificateRequest) -> _Drafted:
    services = rt.services
    used: list[tuple[Pki, LoadedAuthority]] = []

    def load(env: Environment, pki: Pki) -> LoadedAuthority:
        loaded = rt.authorities.get(services, env, pki)
        used.append((pki, loaded))
        return loaded

    plan = plan_request(services.clock, services.config, load, rt.env, request)
    linter = services.linter(rt.env)
    if isinstance(request, DeviceRequest):
        draft = draft_device(plan, linter, request)
    else:
        draft = draft_tbs(linter, plan.facts, plan.build)
    return _Drafted(plan, draft, tuple(used))


class _AuthorityChanged(Exception):
    """The cached issuing CA is no longer the store's: load it again and start over."""


def _claim_and_record(
    rt: Runtime,
    aro: AuthenticatedAro,
    request: CertificateRequest,
    drafted: _Drafted,
    name: duplicates.RequestName,
    actor: str,
    token: TokenUse | None,
    tx: Transaction,
) -> Reservation:
    """In one transaction: use the token up, check that the cached CA is still the store's,
    the party's entitlement (R-PART-3) and the claim on the request (R-SI-3), and record the
    intent (R-CA-4). Any refusal leaves nothing of it."""
    clock = rt.services.clock
    if token is not None:
        token.record(tx, clock)
    for pki, loaded in drafted.used:
        if tx.authority(rt.env, loaded.row.name) != loaded.row:
            rt.authorities.forget(rt.env, pki)
            raise _AuthorityChanged
    check_entitled(tx, rt.eligibility, aro.party, request)
    duplicates.claim(tx, clock, name, str(request.kind), actor)
    plan = drafted.plan
    return record_intent(tx, clock, plan.authority, plan.facts, drafted.draft, actor)


@dataclass(frozen=True)
class _Prepared:
    """A request checked by the RA and its TBS drafted: everything before the first write."""

    aro: AuthenticatedAro
    token: TokenUse | None
    request: CertificateRequest
    drafted: _Drafted


def _prepare(rt: Runtime, aro: AuthenticatedAro, token: TokenUse | None, csr: bytes) -> _Prepared:
    request = check_csr(csr)
    return _Prepared(aro, token, request, _drafted(rt, request))


async def issue_single(
    rt: Runtime, aro: AuthenticatedAro, csr: bytes, token: TokenUse | None = None
) -> tuple[Issued, str]:
    """The RA's checks, the duplicate-request claim and the issuance cycle (R-SI-1, R-CA-4).
    Returns the issued certificate and its kind."""
    return await _issue(rt, await rt.work.run(_prepare, rt, aro, token, csr))


async def _issue(rt: Runtime, prepared: _Prepared) -> tuple[Issued, str]:
    """Two writes, each a unit of the process's group commit (``storage.group_commit``): the
    first uses up the token (when the caller deferred it), re-checks the cached CA, the
    party's entitlement and claims the request together with recording the intent; the
    second stores the certificate and marks the request answered. A refusal in the first
    commits nothing of this request. CPU work (building, linting, signing) runs in worker
    threads within the runtime's bound (``WorkLimiter``), never on the event loop."""
    services = rt.services
    aro, token, request, drafted = (
        prepared.aro,
        prepared.token,
        prepared.request,
        prepared.drafted,
    )
    actor = rt.actor(aro.officer.id)
    name = duplicates.RequestName(rt.env, aro.party.id, request.csr_sha256)
    for attempt in range(_AUTHORITY_ATTEMPTS):
        if attempt:
            drafted = await rt.work.run(_drafted, rt, request)
        try:
            reservation = await rt.commits.run(
                partial(_claim_and_record, rt, aro, request, drafted, name, actor, token)
            )
        except _AuthorityChanged:
            continue
        except Conflict as conflict:
            if conflict.code != "duplicate-serial":  # a fresh serial on the next draft
                raise
            continue
        if token is not None:
            token.recorded = True  # with the intent, committed
        break
    else:  # pragma: no cover - the CA changed under every attempt
        raise Conflict(
            "the issuing CA is changing; try again", code="authority-changed", rid="R-CA-4"
        )

    def stored(der: bytes, tx: Transaction) -> Issued:
        issued = store_issued(tx, services.clock, reservation, der, actor)
        duplicates.answered(tx, name, issued, actor)
        return issued

    try:
        hit("issue.after-intent")
        der = await rt.work.run(sign_reserved, reservation)
        hit("issue.after-sign")
        issued = await rt.commits.run(partial(stored, der))
        hit("issue.after-store")
    except Exception as exc:
        code = exc.code if isinstance(exc, SmkiError) else "internal"
        try:
            await rt.work.run(duplicates.release, services.store, services.clock, name, code, actor)
        except Exception:
            log.exception("could not release the request claim %s", name.key)
        raise
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
async def request_certificate(
    request: Request,
    rt: RuntimeDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Response:
    """A Device or an Organisation Certificate, chosen by the CSR, for the ARO's party."""
    return await answer_certificate_request(rt, request)


async def answer_certificate_request(rt: Runtime, request: Request) -> Response:
    """The whole answer to ``POST /smki/v1/certificates`` once it is routed: the route above
    and ``fast_certificates`` (the same request without the framework) both call this; a
    refusal raises its ``SmkiError``, rendered by ``problems.error_response``."""
    refusal: SmkiError | None = None
    output, body = PEM, b""
    try:
        output = choose_format(request.headers.get("accept"))
        require_media_type(request, PKCS10)
        body = await read_body(request, MAX_CSR_OCTETS)
    except SmkiError as error:  # answered once the caller is known, as before any check
        refusal = error
    admitted = await rt.work.run(
        _admit, rt, request.headers.get("authorization"), request.url.path, body, refusal
    )
    request.scope.setdefault("state", {})[STATE_PARTY_ID] = admitted.aro.party.id
    if admitted.refusal is not None:
        raise admitted.refusal
    assert admitted.prepared is not None and admitted.prepared.token is not None
    token = admitted.prepared.token
    try:
        issued, kind = await _issue(rt, admitted.prepared)
    except Exception:
        # Refused (or failed) before its first write: the token is used up all the same.
        if not token.recorded:
            try:
                await rt.work.run(token.burn, rt.services.store, rt.services.clock)
            except Exception:
                log.exception("could not record the token id of a refused request")
        raise
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


@dataclass(frozen=True)
class _Admission:
    """Who asked, and either their request prepared or why it is refused."""

    aro: AuthenticatedAro
    prepared: _Prepared | None = None
    refusal: Exception | None = None


def _admit(
    rt: Runtime,
    authorization: str | None,
    audience: str,
    csr: bytes,
    refusal: SmkiError | None,
) -> _Admission:
    """In one worker-thread hop: authenticate the ARO (its token checked, not yet used up,
    R-IKI-1), then refuse what the request's form already refused, or check the CSR and draft
    its TBS. A refusal after authentication uses the token up."""
    services = rt.services
    aro, token = authenticate_reading(
        services.store, services.clock, rt.env, authorization, audience
    )
    try:
        if refusal is not None:
            raise refusal
        return _Admission(aro, _prepare(rt, aro, token, csr))
    except Exception as error:
        try:
            token.burn(services.store, services.clock)
        except Exception:
            log.exception("could not record the token id of a refused request")
        return _Admission(aro, refusal=error)
