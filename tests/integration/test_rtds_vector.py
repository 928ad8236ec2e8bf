"""The RTDS CSR vector issued by smki matches the RTDS device certificate (R-PROF-10…14).

`extracted/device-CSR-PKCS10__…` is the CSR whose certificate is
`gbcs-parser-rtds-keystore/00db1234567890a0-ds.pem`; issued by us, the extensions (order,
criticality, values apart from the key identifiers), subject and notAfter must be equal.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from tests.integration.cli_support import Smki

VECTORS = Path(os.environ.get("SMKI_VECTORS", Path(__file__).parents[3] / "shared" / "vectors"))
KEY_IDS = {ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER}


def _vector(pattern: str) -> Path:
    found = sorted(VECTORS.glob(pattern))
    if not found:
        if os.environ.get("SMKI_REQUIRE_VECTORS") == "1":
            pytest.fail(f"vector {pattern} missing under {VECTORS}")
        pytest.skip(f"vectors not found under {VECTORS}")
    return found[0]


def test_rtds_csr_vector_yields_the_rtds_profile(ready: Smki, tmp_path: Path) -> None:
    csr = _vector("extracted/device-CSR-PKCS10__00db1234567890a0-ds__*.der")
    reference = x509.load_pem_x509_certificate(
        _vector("gbcs-parser-rtds-keystore/00db1234567890a0-ds.pem").read_bytes()
    )
    target = tmp_path / "rtds.pem"
    ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(target))
    ours = x509.load_pem_x509_certificate(target.read_bytes())

    assert [(e.oid, e.critical) for e in ours.extensions] == [
        (e.oid, e.critical) for e in reference.extensions
    ]
    for mine, theirs in zip(ours.extensions, reference.extensions, strict=True):
        if mine.oid not in KEY_IDS:
            assert mine.value == theirs.value, mine.oid
    assert ours.subject.public_bytes() == reference.subject.public_bytes() == b"\x30\x00"
    assert ours.not_valid_after_utc == reference.not_valid_after_utc
    raw_after = b"\x18\x0f99991231235959Z"
    assert raw_after in ours.tbs_certificate_bytes and raw_after in reference.tbs_certificate_bytes
    assert ours.public_key() == reference.public_key()
    assert ours.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value == (
        reference.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    )
    assert ours.version == reference.version
    assert ours.signature_algorithm_oid == reference.signature_algorithm_oid
