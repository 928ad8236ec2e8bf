"""Expected lint findings on the public GBCS vectors (R-PROF-40), with their reasons.

Every certificate file not matched here must lint clean of error and warning findings (GBCS
lints plus pkilint's RFC 5280 lints). Each entry names the OBSERVED.md section that records
the quirk; patterns are globs on the path relative to the vectors folder and must each match
at least one file, and no file may match two entries.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Expected:
    patterns: tuple[str, ...]
    #: Names of the error- and warning-severity findings, exactly.
    lints: frozenset[str]
    reason: str

    def matches(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.patterns)


SELF_SIGNED_XML_SIGN = frozenset(
    {
        "gbcs.aki_present",
        "gbcs.extension_order",
        "pkilint.pkix.authority_key_identifier_extension_absent",
    }
)

EXPECTED: tuple[Expected, ...] = (
    Expected(
        ("dccboxed-keystore/otherUser-*.cert.pem",),
        frozenset({"gbcs.no_basic_constraints_on_end_entity"}),
        "OBSERVED.md §D: the OB organisation certificates carry basicConstraints critical "
        "cA=FALSE as their first extension",
    ),
    Expected(
        ("dccboxed-keystore/mdr-*.cert.pem",),
        frozenset(
            {
                "gbcs.signature_algorithm",
                "gbcs.extension_order",
                "pkilint.itu.invalid_asn1_syntax",
            }
        ),
        "OBSERVED.md §D, §J3: the Z99 MDR certificates encode ecdsa-with-SHA256 with a NULL "
        "parameter (RFC 5758 forbids it; cryptography refuses the bytes) and order their "
        "extensions KU, CP, AKI, SKI",
    ),
    Expected(
        ("extracted/device-cert-issuer_CN_0001__*",),
        frozenset({"gbcs.policies_critical"}),
        "OBSERVED.md §E3, §J1: the RTDS CN=0001 device certificate has certificatePolicies "
        "non-critical",
    ),
    Expected(
        ("extracted/DCCBoxed-generated-device-cert__*",),
        frozenset({"gbcs.ski_present", "pkilint.pkix.certificate_skid_end_entity_missing"}),
        "OBSERVED.md §E4, §J2: DCC Boxed SMKI device certificates have no subjectKeyIdentifier",
    ),
    Expected(
        (
            "dccboxed-keystore/xml-sign-*.cert.pem",
            "dccboxed-keystore/dsp-xml-sign-*.cert.pem",
            "dccboxed-signing-tool/main__xml-sign-*-ds.pem",
            "dccboxed-signing-tool/main__dsp-xml-sign-90B3D51F30000002-ds.pem__blob-074003fb",
            "gbcs-parser-rtds-keystore/90b3d51f30010008-*.pem",
        ),
        SELF_SIGNED_XML_SIGN,
        "OBSERVED.md §F, §J2: self-signed DCC Boxed tooling certificates name Z1 as issuer but "
        "have no authorityKeyIdentifier and order their extensions CP, SKI, KU",
    ),
    Expected(
        (
            "dccboxed-signing-tool/main__dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem",
            "dccboxed-signing-tool/main__dsp-xml-sign-90B3D51F30000002-ds.pem__blob-4e6bac1d",
        ),
        SELF_SIGNED_XML_SIGN | {"gbcs.org_subject"},
        "OBSERVED.md §F, §J5: as the other self-signed xml-sign certificates, and the pre-1.4.1 "
        'dspXmlSign certificate writes its role as decimal "137" instead of hex "89"',
    ),
    Expected(
        ("extracted/NEGATIVE-invalid-keyUsage__*",),
        frozenset({"gbcs.key_usage_single"}),
        "OBSERVED.md §G: RTDS negative vector, device DS certificate with keyUsage changed to "
        "nonRepudiation",
    ),
)


def expected_for(path: str) -> Expected | None:
    """The manifest entry for one vector file, or None when it must lint clean."""
    entries = [entry for entry in EXPECTED if entry.matches(path)]
    if len(entries) > 1:
        raise AssertionError(f"{path} matches {len(entries)} manifest entries")
    return entries[0] if entries else None
