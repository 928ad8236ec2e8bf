"""A single Device CSR drafted from the Device template (ra/device_batch.draft_device,
R-PROF-40): the TBS the generic encoder gives, with the template linted once per issuing CA,
second, key usage and hwType, and a template that fails its lints refusing every request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from smki.ca.issuer import CertificateFacts, SigningAuthority
from smki.errors import ProfileViolation
from smki.ids import KeyLabel
from smki.profiles import build
from smki.profiles.build import IssuerContext
from smki.profiles.kinds import CertKind
from smki.ra.csr import DeviceRequest, check_csr
from smki.ra.device_batch import draft_device
from smki.ra.direct import Plan
from smki.x509.tbs import TbsFields, encode_tbs
from tests.bench.csrs import device_csr

_CONTEXT = IssuerContext(
    name=x509.Name([]).public_bytes(), key_id=bytes(8), policy=x509.ObjectIdentifier("1.2.3")
)


class _CountingLinter:
    def __init__(self, findings: Sequence[str] = ()) -> None:
        self.calls = 0
        self.findings = list(findings)

    def __call__(self, precertificate: bytes, kind: CertKind) -> Sequence[str]:
        assert kind == CertKind.DEVICE
        self.calls += 1
        return self.findings


def _plan(request: DeviceRequest, now: dt.datetime) -> Plan:
    def build_tbs(serial: int) -> TbsFields:
        return build.device(_CONTEXT, serial, now, request.key, request.usage, request.hardware)

    signer = _NoSigner()
    authority = SigningAuthority(1, "issuing-dca", signer, signer.public_key())
    facts = CertificateFacts(CertKind.DEVICE, request.usage, request.eui)
    return Plan(authority, facts, build_tbs, _CONTEXT)


def _request(index: int) -> DeviceRequest:
    request = check_csr(device_csr(index))
    assert isinstance(request, DeviceRequest)
    return request


def test_drafts_are_the_encoders_tbs_and_the_template_is_linted_once() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, 1, tzinfo=dt.UTC)
    linter = _CountingLinter()
    drafts = []
    for index in (1, 2, 3):
        request = _request(index)
        draft = draft_device(_plan(request, now), linter, request)
        assert draft.tbs == encode_tbs(draft.fields)
        assert draft.fields.not_before == now
        drafts.append(draft)
    assert len({draft.serial for draft in drafts}) == 3
    assert linter.calls == 1  # one template for the three: same CA, second, usage, hwType


def test_a_template_failing_its_lints_refuses_and_is_not_kept() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, 2, tzinfo=dt.UTC)
    linter = _CountingLinter(["e_some_rule: broken"])
    request = _request(4)
    for attempt in (1, 2):
        with pytest.raises(ProfileViolation) as refused:
            draft_device(_plan(request, now), linter, request)
        assert refused.value.code == "lint-failed"
        assert linter.calls == attempt


class _NoSigner:
    """Drafting never signs."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    @property
    def label(self) -> KeyLabel:
        raise AssertionError("drafting never signs")

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        raise AssertionError("drafting never signs")
