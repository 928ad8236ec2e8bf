"""pkilint integration: uniqueIdentifier as BIT STRING, severity mapping (R-PROF-20, R-PROF-40)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pkilint import loader
from pkilint.pkix import certificate, extension, name

from smki.lint import lint_certificate
from smki.lint.loading import load_any
from smki.lint.rfc5280 import SUPPRESSED, attribute_type_mappings, lint_certificate_rfc5280
from tests.unit.lint import builders as b

VECTORS = Path(os.environ.get("SMKI_VECTORS", Path(__file__).parents[3] / "../shared/vectors"))
Z1_SUPPLIER_DS = (
    "dccboxed-keystore/"
    "Z1-supplier-ds__90b3d51f30010000__105986833131214866166891566273223584671.cert.pem"
)


def stock_pkilint_codes(der: bytes) -> set[tuple[str, str]]:
    """What unconfigured pkilint (``lint_pkix_cert``) says, for contrast."""
    validator: Any = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [certificate.create_subject_validator_container([])],
    )
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "stock")
    return {
        (d.finding.code, d.finding.severity.name)
        for result in validator.validate(document.root)
        for d in result.finding_descriptions
    }


def test_unique_identifier_is_registered_as_bit_string() -> None:
    from pyasn1.type import univ

    mapped = attribute_type_mappings()[univ.ObjectIdentifier("2.5.4.45")]
    assert isinstance(mapped, univ.BitString)


def test_stock_pkilint_fails_an_organisation_subject_and_ours_does_not() -> None:
    organisation = b.build("organisation")
    assert ("itu.invalid_asn1_syntax", "FATAL") in stock_pkilint_codes(organisation)
    assert lint_certificate_rfc5280(organisation) == []


def test_real_organisation_certificate_has_no_pkilint_fatal() -> None:
    path = VECTORS / Z1_SUPPLIER_DS
    if not path.exists():
        if os.environ.get("SMKI_REQUIRE_VECTORS") == "1":
            pytest.fail(f"vector missing: {path}")
        pytest.skip("GBCS vectors not available")
    _, der = load_any(path.read_bytes())
    assert ("itu.invalid_asn1_syntax", "FATAL") in stock_pkilint_codes(der)
    assert [f for f in lint_certificate(der) if f.lint.startswith("pkilint.")] == []


def test_severity_mapping() -> None:
    # ERROR → error (AKI missing on a non-self-signed cert); INFO is dropped (pkilint reports
    # method-2 SKIs as INFO on every SMKI certificate).
    no_aki = b.issue(b.spec("organisation").drop_extension(b.aki(b.ISSUER_KEY).oid))
    (finding,) = lint_certificate_rfc5280(no_aki)
    assert finding.lint == "pkilint.pkix.authority_key_identifier_extension_absent"
    assert finding.severity == "error" and finding.rid == "R-PROF-40"
    # WARNING → warning (an end-entity certificate without SKI, OBSERVED.md §E4).
    no_ski = b.issue(b.spec("device").drop_extension(b.ski(b.SUBJECT_KEY).oid))
    (warning,) = lint_certificate_rfc5280(no_ski)
    assert warning.severity == "warning"


def test_every_suppression_has_a_reason() -> None:
    assert all(reason.strip() for reason in SUPPRESSED.values())


def test_undecodable_certificate_is_a_pkilint_error() -> None:
    (finding,) = lint_certificate_rfc5280(b"\x30\x03\x02\x01\x01")
    assert finding.lint == "pkilint.decode" and finding.severity == "error"
