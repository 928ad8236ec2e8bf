"""Each certificate lint with a positive and a negative case (R-PROF-1…34, R-PROF-40).

Certificates are built with cryptography from a conforming profile (builders.spec) and then
broken in exactly one way; raw-DER edits cover encodings the builder will not produce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smki.lint import CertKind, Finding, errors_only, lint_certificate
from smki.lint.context import parse_leniently
from smki.lint.registry import CERTIFICATE_LINTS
from smki.x509 import der
from smki.x509.oids import (
    DEFAULT_CONTINGENCY_KEY_EXTENSION,
    OBSERVED_ORGANISATION_POLICY,
    UNIQUE_IDENTIFIER,
)
from tests.unit.lint import builders as b

OU = NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string
UID = UNIQUE_IDENTIFIER.dotted_string
P384_KEY = ec.generate_private_key(ec.SECP384R1())


def lints(certificate: bytes, **options: Any) -> set[str]:
    """Names of the non-notice findings, pkilint included."""
    return {f.lint for f in lint_certificate(certificate, **options) if f.severity != "notice"}


def v2_version(fields: list[bytes]) -> list[bytes]:
    fields[b.VERSION] = der.context(0, der.integer(1))
    return fields


def null_parameters(fields: list[bytes]) -> list[bytes]:
    fields[b.SIGNATURE] = b.ECDSA_SHA256_NULL
    return fields


def decimal_role_subject(fields: list[bytes]) -> list[bytes]:
    fields[b.SUBJECT] = b.name_der(
        (OU, der.UTF8_STRING, b"137"), (UID, der.BIT_STRING, b"\0" + b.EUI)
    )
    return fields


def org(**changes: Any) -> b.Spec:
    return replace(b.spec("organisation"), **changes)


@dataclass(frozen=True)
class Case:
    """A certificate factory plus the options lint_certificate is called with."""

    make: Callable[[], bytes]
    options: dict[str, Any]


def case(make: Callable[[], bytes], **options: Any) -> Case:
    return Case(make, options)


ORG = case(lambda: b.build("organisation"))
DEVICE = case(lambda: b.build("device"))
ISSUING = case(lambda: b.build("issuing-ca"))
IKI = case(lambda: b.issue(b.iki_spec()), kind="iki")
DCCKI = case(lambda: b.issue(b.dccki_spec()), kind="dccki-tls")
SERIAL_0F = int.from_bytes(bytes([0x0F]) + bytes(range(1, 16)), "big")

#: lint name → (positive case, negative case).
CASES: dict[str, tuple[Case, Case]] = {
    "gbcs.parseable": (ORG, case(lambda: b.rebuild(b.build("organisation"), v2_version))),
    "gbcs.version_v3": (ORG, case(lambda: b.rebuild(b.build("organisation"), v2_version))),
    "gbcs.signature_algorithm": (
        ORG,
        case(
            lambda: b.rebuild(
                b.build("organisation"), null_parameters, algorithm=b.ECDSA_SHA256_NULL
            )
        ),
    ),
    "gbcs.key_p256": (ORG, case(lambda: b.issue(org(key=P384_KEY.public_key())))),
    "gbcs.serial_16_octets": (
        ORG,
        case(lambda: b.issue(org(serial=int.from_bytes(b"\x42" + bytes(14), "big")))),
    ),
    "gbcs.serial_first_octet": (
        case(lambda: b.build("organisation"), strict_serial=True),
        case(lambda: b.issue(org(serial=SERIAL_0F)), strict_serial=True),
    ),
    "gbcs.time_encoding": (
        case(lambda: b.issue(org(not_after=dt.datetime(2060, 1, 1, tzinfo=dt.UTC)))),
        case(
            lambda: b.rebuild(
                b.build("organisation"),
                b.validity(b.generalized("20250901000000Z"), b.utc("350831235959Z")),
            )
        ),
    ),
    "gbcs.key_usage_critical": (
        ORG,
        case(lambda: b.issue(org().replace_extension(b.key_usage("key_agreement"), False))),
    ),
    "gbcs.key_usage_single": (
        ORG,
        case(
            lambda: b.issue(
                org().replace_extension(b.key_usage("digital_signature", "key_agreement"))
            )
        ),
    ),
    "gbcs.policies_critical": (
        ORG,
        case(
            lambda: b.issue(
                org().replace_extension(b.policies(OBSERVED_ORGANISATION_POLICY), False)
            )
        ),
    ),
    "gbcs.policies_single_no_qualifiers": (
        ORG,
        case(
            lambda: b.issue(
                org().replace_extension(
                    b.policies(OBSERVED_ORGANISATION_POLICY, x509.ObjectIdentifier("1.2.3.4"))
                )
            )
        ),
    ),
    "gbcs.policy_allowed": (
        case(
            lambda: b.build("organisation"),
            allowed_policies=frozenset({OBSERVED_ORGANISATION_POLICY.dotted_string}),
        ),
        case(lambda: b.build("organisation"), allowed_policies=frozenset({"1.2.3.4"})),
    ),
    "gbcs.ski_present": (
        ORG,
        case(lambda: b.issue(org().drop_extension(x509.SubjectKeyIdentifier.oid))),
    ),
    "gbcs.ski_method2": (
        ORG,
        case(
            lambda: b.issue(
                org().replace_extension(
                    x509.SubjectKeyIdentifier.from_public_key(b.SUBJECT_KEY.public_key())
                )
            )
        ),
    ),
    "gbcs.aki_present": (
        case(lambda: b.build("root-ca")),
        case(lambda: b.issue(org().drop_extension(x509.AuthorityKeyIdentifier.oid))),
    ),
    "gbcs.aki_keyid_only": (
        ORG,
        case(
            lambda: b.issue(
                org().replace_extension(
                    x509.AuthorityKeyIdentifier(
                        b.aki(b.ISSUER_KEY).key_identifier, [x509.DirectoryName(b.ROOT_NAME)], 5
                    )
                )
            )
        ),
    ),
    "gbcs.no_forbidden_extensions": (
        ORG,
        case(
            lambda: b.issue(
                org().add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]))
            )
        ),
    ),
    "gbcs.no_basic_constraints_on_end_entity": (
        ORG,
        case(
            lambda: b.issue(
                org().with_extensions(
                    [(x509.BasicConstraints(ca=False, path_length=None), True), *org().extensions]
                )
            )
        ),
    ),
    "gbcs.no_unexpected_extensions": (
        case(lambda: b.build("root-ca")),
        case(
            lambda: b.issue(
                org().add_extension(
                    x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00")
                )
            )
        ),
    ),
    "gbcs.extension_order": (
        DEVICE,
        case(
            lambda: b.issue(
                b.spec("device").with_extensions(
                    [b.spec("device").extensions[i] for i in (1, 0, 2, 3, 4)]
                )
            )
        ),
    ),
    "gbcs.device_subject_empty": (
        DEVICE,
        case(
            lambda: b.issue(
                replace(
                    b.spec("device"),
                    subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meter")]),
                )
            ),
            kind="device",
        ),
    ),
    "gbcs.device_san": (
        DEVICE,
        case(lambda: b.issue(b.spec("device").replace_extension(b.device_san(b"\x00" * 7)))),
    ),
    "gbcs.device_not_after": (
        DEVICE,
        case(
            lambda: b.issue(
                replace(b.spec("device"), not_after=dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
            )
        ),
    ),
    "gbcs.org_subject": (
        ORG,
        case(lambda: b.rebuild(b.build("organisation"), decimal_role_subject)),
    ),
    "gbcs.org_no_san": (
        ORG,
        case(
            lambda: b.issue(
                org().add_extension(x509.SubjectAlternativeName([x509.DNSName("example.org")]))
            )
        ),
    ),
    "gbcs.ca_basic_constraints": (
        ISSUING,
        case(
            lambda: b.issue(
                b.spec("issuing-ca").replace_extension(
                    x509.BasicConstraints(ca=True, path_length=None)
                )
            )
        ),
    ),
    "gbcs.ca_key_usage": (
        ISSUING,
        case(
            lambda: b.issue(
                b.spec("issuing-ca").replace_extension(
                    b.key_usage("digital_signature", "key_cert_sign", "crl_sign")
                )
            )
        ),
    ),
    "iki.subject": (
        IKI,
        case(
            lambda: b.issue(
                replace(
                    b.iki_spec(),
                    subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alice")]),
                )
            ),
            kind="iki",
        ),
    ),
    "iki.key_usage": (
        IKI,
        case(
            lambda: b.issue(b.iki_spec().replace_extension(b.key_usage("key_agreement"))),
            kind="iki",
        ),
    ),
    "dccki.san_dns": (
        DCCKI,
        case(
            lambda: b.issue(b.dccki_spec().drop_extension(x509.SubjectAlternativeName.oid)),
            kind="dccki-tls",
        ),
    ),
    "dccki.eku": (
        DCCKI,
        case(
            lambda: b.issue(
                b.dccki_spec().replace_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])
                )
            ),
            kind="dccki-tls",
        ),
    ),
    "dccki.key": (
        DCCKI,
        case(lambda: b.issue(replace(b.dccki_spec(), key=P384_KEY)), kind="dccki-tls"),
    ),
    "dccki.validity": (
        DCCKI,
        case(
            lambda: b.issue(
                replace(b.dccki_spec(), not_after=b.NOT_BEFORE + dt.timedelta(days=1100))
            ),
            kind="dccki-tls",
        ),
    ),
}


def test_every_certificate_lint_has_cases() -> None:
    assert set(CASES) == {lint.name for lint in CERTIFICATE_LINTS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_positive(name: str) -> None:
    positive, _ = CASES[name]
    assert name not in lints(positive.make(), **positive.options)


@pytest.mark.parametrize("name", sorted(CASES))
def test_negative(name: str) -> None:
    _, negative = CASES[name]
    findings = lint_certificate(negative.make(), **negative.options)
    assert name in {f.lint for f in findings}
    finding = next(f for f in findings if f.lint == name)
    assert finding.rid.startswith("R-PROF-") and finding.message


@pytest.mark.parametrize("kind", ["device", "organisation", "issuing-ca", "root-ca"])
def test_conforming_smki_certificates_are_clean(kind: str) -> None:
    # GBCS lints and pkilint together: nothing at all, not even a warning.
    findings = lint_certificate(b.build(kind), strict_serial=True)
    assert [f for f in findings if f.severity != "notice"] == []


@pytest.mark.parametrize(("make", "kind"), [(b.iki_spec, "iki"), (b.dccki_spec, "dccki-tls")])
def test_conforming_iki_and_dccki_certificates_are_clean(
    make: Callable[[], b.Spec], kind: str
) -> None:
    assert lints(b.issue(make()), kind=kind) == set()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("device", CertKind.DEVICE),
        ("organisation", CertKind.ORGANISATION),
        ("issuing-ca", CertKind.ISSUING_CA),
        ("root-ca", CertKind.ROOT_CA),
    ],
)
def test_kind_detection(kind: str, expected: CertKind) -> None:
    from smki.lint.context import detect_kind

    raw, _, _ = parse_leniently(b.build(kind))
    assert detect_kind(raw) is expected


def test_iki_certificate_is_detected_as_unknown_and_gets_only_common_lints() -> None:
    from smki.lint.context import detect_kind

    certificate = b.issue(b.iki_spec())
    raw, _, _ = parse_leniently(certificate)
    assert detect_kind(raw) is CertKind.UNKNOWN
    # Unknown kind: the common GBCS lints still run (policies are missing here) …
    assert "gbcs.policies_critical" in lints(certificate)
    # … and an explicit kind takes IKI certificates out of the SMKI rules (R-PROF-33).
    assert lints(certificate, kind=CertKind.IKI) == set()


def test_unknown_kind_string_is_refused() -> None:
    with pytest.raises(ValueError):
        lint_certificate(b.build("device"), kind="meter")


def test_serial_first_octet_is_not_applied_by_default() -> None:
    # One real Z1 certificate has a serial starting 0x0F (OBSERVED.md §F) and lints clean.
    assert lints(b.issue(org(serial=SERIAL_0F))) == set()


def test_nonrepudiation_is_reported_by_the_key_usage_lint() -> None:
    # The RTDS "invalid keyUsage" negative vector (OBSERVED.md §G).
    certificate = b.issue(b.spec("device").replace_extension(b.key_usage("content_commitment")))
    assert "gbcs.key_usage_single" in lints(certificate)


def test_null_parameters_are_reported_and_the_other_lints_still_run() -> None:
    # The Z99 case (OBSERVED.md §D): cryptography refuses the bytes, the lint says why, and the
    # rest of the certificate is still judged (here: a non-critical keyUsage).
    broken = b.issue(org().replace_extension(b.key_usage("key_agreement"), False))
    certificate = b.rebuild(broken, null_parameters, algorithm=b.ECDSA_SHA256_NULL)
    findings = lint_certificate(certificate)
    found = {f.lint for f in findings}
    assert {"gbcs.signature_algorithm", "gbcs.key_usage_critical"} <= found
    assert "gbcs.parseable" not in found
    assert "pkilint.itu.invalid_asn1_syntax" in found
    message = next(f.message for f in findings if f.lint == "gbcs.signature_algorithm")
    assert "0500" in message and "cryptography" in message


def test_root_contingency_extension_must_follow_the_profile_extensions() -> None:
    root = b.spec("root-ca")
    moved = root.with_extensions([root.extensions[i] for i in (0, 1, 4, 2, 3)])
    assert "gbcs.extension_order" in lints(b.issue(moved))


def test_root_may_not_carry_aki_or_a_second_private_extension() -> None:
    root = b.spec("root-ca")
    with_aki = root.add_extension(b.aki(b.SUBJECT_KEY))
    assert "gbcs.no_unexpected_extensions" in lints(b.issue(with_aki))
    second = root.add_extension(
        x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.2"), b"\x05\x00")
    )
    assert "gbcs.no_unexpected_extensions" in lints(b.issue(second))
    critical = root.replace_extension(
        x509.UnrecognizedExtension(DEFAULT_CONTINGENCY_KEY_EXTENSION, b"\x04\x00"), True
    )
    assert "gbcs.no_unexpected_extensions" in lints(b.issue(critical))


def test_generalized_time_from_2050_and_utc_time_before() -> None:
    late = b.rebuild(
        b.build("organisation"),
        b.validity(b.utc("250901000000Z"), b.generalized("20500101000000Z")),
    )
    assert "gbcs.time_encoding" not in lints(late)
    bad = b.rebuild(
        b.build("organisation"), b.validity(b.utc("2509010000Z"), b.utc("350831235959Z"))
    )
    assert "gbcs.time_encoding" in {f.lint for f in lint_certificate(bad, rfc5280=False)}


def test_org_subject_reports_each_encoding_fault() -> None:
    def subject(*rdns: tuple[str, int, bytes]) -> Callable[[list[bytes]], list[bytes]]:
        def edit(fields: list[bytes]) -> list[bytes]:
            fields[b.SUBJECT] = b.name_der(*rdns)
            return fields

        return edit

    uid = (UID, der.BIT_STRING, b"\0" + b.EUI)
    cases = {
        "PrintableString OU": subject((OU, der.PRINTABLE_STRING, b"02"), uid),
        "lower-case OU": subject((OU, der.UTF8_STRING, b"7f"), uid),
        "uid as octets": subject((OU, der.UTF8_STRING, b"02"), (UID, der.OCTET_STRING, b.EUI)),
        "uid of 7 octets": subject((OU, der.UTF8_STRING, b"02"), (UID, der.BIT_STRING, b"\0" * 8)),
        "uid before OU": subject(uid, (OU, der.UTF8_STRING, b"02")),
        "PrintableString CN": subject(
            (NameOID.COMMON_NAME.dotted_string, der.PRINTABLE_STRING, b"MDR"),
            (OU, der.UTF8_STRING, b"02"),
            uid,
        ),
    }
    for label, edit in cases.items():
        certificate = b.rebuild(b.build("organisation"), edit)
        found = {f.lint for f in lint_certificate(certificate, kind="organisation", rfc5280=False)}
        assert "gbcs.org_subject" in found, label


def test_errors_only_and_finding_is_frozen() -> None:
    error = Finding("gbcs.x", "R-PROF-1", "error", "m")
    warning = Finding("pkilint.y", "R-PROF-40", "warning", "m")
    assert errors_only([error, warning]) == [error]
    with pytest.raises(FrozenInstanceError):
        error.lint = "other"  # type: ignore[misc]


def test_rfc5280_false_skips_pkilint() -> None:
    certificate = b.issue(org().drop_extension(x509.AuthorityKeyIdentifier.oid))
    with_pkilint = {f.lint for f in lint_certificate(certificate)}
    without = {f.lint for f in lint_certificate(certificate, rfc5280=False)}
    assert "pkilint.pkix.authority_key_identifier_extension_absent" in with_pkilint
    assert not any(name.startswith("pkilint.") for name in without)


def test_not_a_certificate_is_malformed_input() -> None:
    from smki.errors import MalformedInput

    with pytest.raises(MalformedInput):
        lint_certificate(b.crl())
    with pytest.raises(MalformedInput):
        lint_certificate(b"\x30\x03\x02\x01\x01")


def test_a_malformed_extension_value_becomes_a_finding() -> None:
    # keyUsage whose value is not a BIT STRING: the lint that reads it says it cannot judge it,
    # and pkilint reports the undecodable value.
    garbage = x509.UnrecognizedExtension(x509.KeyUsage.oid, b"\x05\x00")
    certificate = b.issue(b.spec("organisation").replace_extension(garbage))
    findings = lint_certificate(certificate)
    single = [f for f in findings if f.lint == "gbcs.key_usage_single"]
    assert single and single[0].message.startswith("cannot be checked")
    assert any(f.lint.startswith("pkilint.") and f.severity == "error" for f in findings)
