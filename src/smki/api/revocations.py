"""Revocation requests (R-SI-4): ``POST /smki/v1/revocations``.

An authenticated ARO asks for one of its party's Organisation Certificates to be revoked
(``{"serial": "<hex>", "reason": "keyCompromise"}``). The certificate is the party's when its
subject EUI-64 is one of the party's Entity Identifiers — the rule that entitled the party to
it (R-PART-3). Device Certificates are not revoked (R-SI-4 [smki decision]); CA and IKI
certificates are not the subscriber's to revoke here. The revocation and the reissued CRL are
one transaction (``ra.revocation.revoke_in``): the CRL is issued at once for every reason,
so keyCompromise is effective immediately.
"""

from __future__ import annotations

import json
from typing import Final

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from smki.api.auth import AroDep
from smki.api.bodies import read_body, require_media_type
from smki.api.problems import problem_responses
from smki.api.runtime import Runtime, RuntimeDep
from smki.ca.serials import parse_serial_hex, serial_hex
from smki.errors import Forbidden, InputError, MalformedInput
from smki.profiles.kinds import CertKind, Environment
from smki.ra.authentication import AuthenticatedAro
from smki.ra.revocation import RevocationResult, find_certificate, revoke_in
from smki.ra.status import load_party

REVOCATIONS_PATH: Final = "/smki/v1/revocations"
MAX_REVOCATION_OCTETS: Final = 4096
#: The reasons a subscriber may give (R-SI-4); cACompromise is the DCC's alone.
SUBSCRIBER_REASONS: Final = (
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
)

router = APIRouter(tags=["revocations"])


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    serial: str = Field(
        description="The certificate's serial number in hexadecimal (colons allowed).",
        examples=["4F1A2B3C4D5E6F708192A3B4C5D6E7F8"],
        max_length=128,
    )
    reason: str = Field(
        description="RFC 5280 reason: " + ", ".join(SUBSCRIBER_REASONS),
        examples=["keyCompromise"],
        max_length=64,
    )


class RevocationAnswer(BaseModel):
    serial: str = Field(description="The revoked certificate's serial number, hexadecimal.")
    status: str = Field(examples=["revoked"])
    reason: str
    crl_number: int = Field(description="The number of the CRL that lists it, issued now.")


def parse_request(body: bytes) -> tuple[int, str]:
    """The serial and reason of a revocation body; 400 or 422 with a precise code."""
    try:
        parsed = RevocationRequest.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        # Not the validator's message: it quotes the input.
        raise MalformedInput(
            'the body must be a JSON object {"serial": "<hex>", "reason": "<reason>"}',
            code="malformed-request",
            rid="R-SI-4",
        ) from exc
    try:
        serial = parse_serial_hex(parsed.serial)
    except ValueError as exc:
        raise MalformedInput(
            "serial is not a positive hexadecimal number", code="bad-serial", rid="R-SI-4"
        ) from exc
    if parsed.reason not in SUBSCRIBER_REASONS:
        raise InputError(
            f"reason must be one of {', '.join(SUBSCRIBER_REASONS)}",
            code="bad-reason",
            rid="R-SI-4",
        )
    return serial, parsed.reason


def revoke_for_aro(
    rt: Runtime, aro: AuthenticatedAro, serial: int, reason: str
) -> RevocationResult:
    """Revoke the party's Organisation Certificate ``serial`` and reissue the CRL, whole."""
    services = rt.services
    env: Environment = rt.env
    with services.store.transaction() as tx:
        row = find_certificate(tx, env, serial)
        kind = CertKind(row.kind)
        if kind is CertKind.DEVICE:
            raise InputError(
                "Device Certificates are not revoked (devices cannot consult CRLs); "
                "replace the device's credentials instead",
                code="device-not-revocable",
                rid="R-SI-4",
            )
        if kind is not CertKind.ORGANISATION:
            raise Forbidden(
                "only Organisation Certificates are revoked through the Service Interface",
                code="not-organisation-certificate",
                rid="R-SI-4",
            )
        party = load_party(tx, aro.party.id)
        held = {bytes(eui) for eui in party.entity_ids}
        if row.subject_eui is None or bytes(row.subject_eui) not in held:
            raise Forbidden(
                f"certificate {serial_hex(serial)} is not one of party {party.id}'s",
                code="not-certificate-subscriber",
                rid="R-SI-4",
            )

        return revoke_in(
            tx,
            services.clock,
            services.config,
            services.authority_loader(env),
            env,
            row,
            reason,
            rt.actor(aro.officer.id),
        )


@router.post(
    REVOCATIONS_PATH,
    response_model=RevocationAnswer,
    summary="Revoke one of the party's Organisation Certificates (R-SI-4)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RevocationRequest.model_json_schema()}},
        }
    },
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def request_revocation(request: Request, rt: RuntimeDep, aro: AroDep) -> RevocationAnswer:
    """Revoke now; the next CRL, issued at once, lists the certificate."""
    require_media_type(request, "application/json")
    serial, reason = parse_request(await read_body(request, MAX_REVOCATION_OCTETS))
    result = await run_in_threadpool(revoke_for_aro, rt, aro, serial, reason)
    rt.metrics.revoked.inc(reason)
    return RevocationAnswer(
        serial=serial_hex(result.serial),
        status="revoked",
        reason=reason,
        crl_number=result.list_number,
    )
