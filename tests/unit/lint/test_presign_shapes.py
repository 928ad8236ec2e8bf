"""The pre-sign linter's shape cache (R-PROF-40): pkilint once per structure, GBCS lints always."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smki.ca.serials import new_serial
from smki.ids import EntityId
from smki.lint.presign import ProfileLinter, certificate_shape
from smki.profiles import build
from smki.profiles.build import IssuerContext, SubjectKey
from smki.profiles.kinds import CertKind, KeyUse
from smki.x509.hwname import HardwareModuleName
from smki.x509.keyid import key_id_from_point
from smki.x509.keys import P256_SPKI_PREFIX
from smki.x509.names import common_name_subject
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE, OBSERVED_DEVICE_POLICY
from smki.x509.tbs import encode_tbs, precertificate

ISSUER = IssuerContext(common_name_subject("TD1").public_bytes(), bytes(8), OBSERVED_DEVICE_POLICY)
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _device(
    eui: bytes,
    usage: KeyUse = KeyUse.DIGITAL_SIGNATURE,
    hw_type: x509.ObjectIdentifier = DEFAULT_DEVICE_HW_TYPE,
) -> bytes:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    key = SubjectKey(P256_SPKI_PREFIX + point, key_id_from_point(point))
    fields = build.device(
        ISSUER, new_serial(), NOW, key, usage, HardwareModuleName(hw_type, EntityId(eui))
    )
    return precertificate(encode_tbs(fields))


def test_devices_differing_only_in_subject_values_share_a_shape() -> None:
    first = certificate_shape(_device(b"\x00" * 8), CertKind.DEVICE)
    second = certificate_shape(_device(b"\x11" * 8), CertKind.DEVICE)
    assert first is not None and first == second


def test_usage_or_hw_type_changes_the_shape() -> None:
    base = certificate_shape(_device(b"\x00" * 8), CertKind.DEVICE)
    assert certificate_shape(_device(b"\x00" * 8, KeyUse.KEY_AGREEMENT), CertKind.DEVICE) != base
    other_type = x509.ObjectIdentifier("1.2.826.0.1.1372.1.1.2.1")
    assert certificate_shape(_device(b"\x00" * 8, hw_type=other_type), CertKind.DEVICE) != base


def test_ca_certificates_have_no_shape() -> None:
    assert certificate_shape(_device(b"\x00" * 8), CertKind.ISSUING_DCA) is None


def test_every_certificate_still_gets_the_gbcs_lints() -> None:
    linter = ProfileLinter(frozenset({OBSERVED_DEVICE_POLICY.dotted_string}))
    assert linter(_device(b"\x00" * 8), CertKind.DEVICE) == []
    assert linter(_device(b"\x22" * 8), CertKind.DEVICE) == []
    # Same shape, but a policy this linter does not allow: the GBCS lint still refuses it.
    strict = ProfileLinter(frozenset({"1.2.3"}))
    problems = strict(_device(b"\x33" * 8), CertKind.DEVICE)
    assert any("gbcs.policy_allowed" in p for p in problems)
