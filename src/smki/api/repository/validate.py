"""Relying-party validation through the repository (R-RP-1..3): ``POST /repository/v1/validate``.

The certificate (and any extra chain certificates) come as PEM or base64 DER in a JSON body;
the trust anchors, the current CRLs/ARLs and the suspension register are the repository's own
(``smki.repository.relying``). The answer is the verdict: 200 whatever it says, since a
refused certificate is a correct answer, not a failed request. Only a body that cannot be read
is a problem (400 ``malformed-request`` / ``malformed``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from smki.api.problems import problem_responses
from smki.api.repository.deps import ReaderDep, RepositoryDep
from smki.errors import InputError, MalformedInput
from smki.profiles.kinds import KeyUse
from smki.validation import certificates_from
from smki.x509.eui import parse_eui64

VALIDATE_PATH: Final = "/repository/v1/validate"
_MAX_CHAIN: Final = 8
_USAGES: Final = {"ds": KeyUse.DIGITAL_SIGNATURE, "ka": KeyUse.KEY_AGREEMENT}

router = APIRouter(tags=["repository"])


class ValidationRequest(BaseModel):
    certificate: str = Field(
        max_length=16_384, description="The certificate: PEM, or base64 of its DER"
    )
    chain: list[str] = Field(
        default=[],
        max_length=_MAX_CHAIN,
        description="Extra certificates that may complete the path (PEM or base64 DER)",
    )
    device: str | None = Field(
        default=None, description="The expected device EUI-64 (16 hex digits), R-RP-2"
    )
    usage: str | None = Field(default=None, description="The expected key usage: ds or ka")
    at: dt.datetime | None = Field(
        default=None, description="When to judge validity (ISO 8601; default: now)"
    )


class PathEntry(BaseModel):
    role: str
    subject: str
    serial: str
    issuer: str
    kind: str
    not_before: str
    not_after: str


class VerdictModel(BaseModel):
    ok: bool
    reason: str | None = Field(description="The stable refusal code, null when ok")
    detail: str
    notes: list[str]
    path: list[PathEntry]
    at: str


def _der(text: str, what: str) -> bytes:
    data = text.strip().encode("ascii", errors="replace")
    if b"-----BEGIN" not in data:
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedInput(
                f"{what} is neither PEM nor base64 DER", code="malformed", rid="R-RP-3"
            ) from None
    found = certificates_from(data, what)
    if len(found) != 1:
        raise MalformedInput(f"{what} must hold exactly one certificate", code="malformed")
    return found[0]


def _options(body: ValidationRequest) -> tuple[bytes | None, KeyUse | None]:
    device = None
    if body.device is not None:
        device = bytes(parse_eui64(body.device))
    usage = None
    if body.usage is not None:
        if body.usage not in _USAGES:
            raise InputError("usage must be ds or ka", code="bad-usage", rid="R-RP-2")
        usage = _USAGES[body.usage]
    return device, usage


@router.post(
    VALIDATE_PATH,
    summary="May this certificate be relied on? Checked against this repository (R-RP-3)",
    responses={200: {"model": VerdictModel}, **problem_responses(400, 401, 403, 422, 503)},
)
def validate_certificate(
    reader: ReaderDep, repo: RepositoryDep, body: Annotated[ValidationRequest, Body()]
) -> JSONResponse:
    del reader  # every repository reader may validate (R-REP-3)
    certificate = _der(body.certificate, "certificate")
    chain = [_der(item, f"chain[{i}]") for i, item in enumerate(body.chain)]
    device, usage = _options(body)
    at = body.at
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        at = at.replace(tzinfo=dt.UTC)
    verdict = repo.validator.validate(
        certificate, chain=chain, at=at, expect_device=device, expect_usage=usage
    )
    return JSONResponse(verdict.as_json())
