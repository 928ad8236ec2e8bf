"""The catalogue of lints, in the order they run and report (R-PROF-40)."""

from __future__ import annotations

from smki.lint import (
    algorithm,
    ca,
    crl,
    device,
    extensions,
    iki_dccki,
    key_identifiers,
    key_usage,
    organisation,
    policies,
    serial,
    time_encoding,
)
from smki.lint.base import CertLint, CrlLint

CERTIFICATE_LINTS: tuple[CertLint, ...] = (
    algorithm.parseable,
    algorithm.version_v3,
    algorithm.signature_algorithm,
    algorithm.key_p256,
    serial.serial_16_octets,
    serial.serial_first_octet,
    time_encoding.time_encoding,
    key_usage.key_usage_critical,
    key_usage.key_usage_single,
    policies.policies_critical,
    policies.policies_single_no_qualifiers,
    policies.policy_allowed,
    key_identifiers.ski_present,
    key_identifiers.ski_method2,
    key_identifiers.aki_present,
    key_identifiers.aki_keyid_only,
    extensions.no_forbidden_extensions,
    extensions.no_basic_constraints_on_end_entity,
    extensions.no_unexpected_extensions,
    extensions.extension_order,
    device.device_subject_empty,
    device.device_san,
    device.device_not_after,
    organisation.org_subject,
    organisation.org_no_san,
    ca.ca_basic_constraints,
    ca.ca_key_usage,
    iki_dccki.iki_subject,
    iki_dccki.iki_key_usage,
    iki_dccki.dccki_san_dns,
    iki_dccki.dccki_eku,
    iki_dccki.dccki_key,
    iki_dccki.dccki_validity,
)

CRL_LINTS: tuple[CrlLint, ...] = (
    crl.crl_version,
    crl.crl_signature_algorithm,
    crl.crl_number,
    crl.crl_aki_keyid,
    crl.crl_next_update,
    crl.crl_time_encoding,
)


def lint_names() -> list[str]:
    """Every lint name smki itself defines (pkilint's are ``pkilint.<code>``)."""
    return [lint.name for lint in CERTIFICATE_LINTS] + [lint.name for lint in CRL_LINTS]
