"""RFC 5280 lints through pkilint (R-PROF-40).

The validator is pkilint's own RFC 5280 certificate (``lint_pkix_cert``) and CRL
(``lint_crl -p PKIX``) set, with one configuration change: pkilint decodes name attributes it
has no type for as DirectoryString, and has none for uniqueIdentifier (2.5.4.45), so every
real Organisation Certificate (uniqueIdentifier = BIT STRING, R-PROF-20) came back FATAL
``itu.invalid_asn1_syntax``. We register 2.5.4.45 as X.520's UniqueIdentifier (BIT STRING).

Severities: pkilint FATAL and ERROR are errors (a MUST is broken or the document cannot be
read); WARNING stays a warning (a SHOULD) and NOTICE a notice. INFO and DEBUG are dropped:
pkilint defines them as "not indicative of any problem" (e.g. it reports, as INFO, that every
SKI follows method 2 — gbcs.ski_method2 checks that exactly).

Expected pkilint findings on GBCS material (OBSERVED.md), kept as findings, not suppressed:
``pkix.authority_key_identifier_extension_absent`` on the self-signed xml-sign certificates
(§F), ``pkix.certificate_skid_end_entity_missing`` on the DCC Boxed device certificates (§E4),
``itu.invalid_asn1_syntax`` on the Z99 certificates' NULL signature parameters (§D). Empty
device subjects raise nothing because devices carry a critical subjectAltName (R-PROF-10).
``SUPPRESSED`` is therefore empty; an entry needs a written reason.
"""

from __future__ import annotations

import functools
from typing import Any

from pkilint import loader, validation
from pkilint import pkix as pkilint_pkix
from pkilint.pkix import certificate, crl, extension, name
from pyasn1.type import univ
from pyasn1_alt_modules import rfc5280 as asn1

from smki.lint.finding import Finding, Severity

RID = "R-PROF-40"
UNIQUE_IDENTIFIER = univ.ObjectIdentifier("2.5.4.45")

_SEVERITIES: dict[str, Severity] = {
    "FATAL": "error",
    "ERROR": "error",
    "WARNING": "warning",
    "NOTICE": "notice",
}

#: pkilint finding code → why it is not reported for GBCS material. Empty: see module doc.
SUPPRESSED: dict[str, str] = {}


def attribute_type_mappings() -> dict[Any, Any]:
    """pkilint's name attribute decoders plus uniqueIdentifier as a BIT STRING (R-PROF-20)."""
    mappings: dict[Any, Any] = dict(name.ATTRIBUTE_TYPE_MAPPINGS)
    mappings[UNIQUE_IDENTIFIER] = asn1.UniqueIdentifier()
    return mappings


@functools.cache
def certificate_validator() -> Any:
    """The validator ``lint_pkix_cert`` builds, with our attribute mappings."""
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            attribute_type_mappings(), extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


@functools.cache
def crl_validator() -> Any:
    """The validator ``lint_crl --profile PKIX`` builds, with our attribute mappings."""
    return crl.create_pkix_crl_validator_container(
        [
            pkilint_pkix.create_attribute_decoder(attribute_type_mappings()),
            pkilint_pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )


def _findings(results: Any) -> list[Finding]:
    out: list[Finding] = []
    for result in results:
        for description in result.finding_descriptions:
            finding: validation.ValidationFinding = description.finding
            severity = _SEVERITIES.get(finding.severity.name)
            if severity is None or finding.code in SUPPRESSED:
                continue
            where = str(result.node.path)
            detail = f": {description.message}" if description.message else ""
            out.append(Finding(f"pkilint.{finding.code}", RID, severity, f"at {where}{detail}"))
    return out


def _run(document_loader: Any, validator: Any, der: bytes, what: str) -> list[Finding]:
    try:
        document = document_loader.load_der_document(der, what)
    except ValueError as exc:
        return [Finding("pkilint.decode", RID, "error", f"pkilint cannot decode the {what}: {exc}")]
    return _findings(validator.validate(document.root))


def lint_certificate_rfc5280(der: bytes) -> list[Finding]:
    """pkilint's RFC 5280 certificate findings, mapped to ours."""
    return _run(
        loader.RFC5280CertificateDocumentLoader(), certificate_validator(), der, "certificate"
    )


def lint_crl_rfc5280(der: bytes) -> list[Finding]:
    """pkilint's RFC 5280 CRL findings, mapped to ours."""
    return _run(loader.RFC5280CertificateListDocumentLoader(), crl_validator(), der, "CRL")
