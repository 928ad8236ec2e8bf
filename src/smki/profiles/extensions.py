"""Pre-encoded GBCS extension values (R-PROF-2, R-PROF-10…34).

Each function returns the DER of one ``Extension`` (extnID, critical, extnValue). The fixed
parts are encoded once at import; only key identifiers, EUI-64s and names vary per
certificate. ``tests/property`` proves these bytes equal ``cryptography``'s own encoding.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from smki.x509 import der
from smki.x509.hwname import HardwareModuleName

_CRITICAL = der.tlv(der.BOOLEAN, b"\xff")


def extension(oid: x509.ObjectIdentifier, critical: bool, value: bytes) -> bytes:
    parts = [der.oid(oid.dotted_string)]
    if critical:
        parts.append(_CRITICAL)
    parts.append(der.octet_string(value))
    return der.sequence(*parts)


def _key_usage(**bits: bool) -> bytes:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(bits)
    return extension(ExtensionOID.KEY_USAGE, True, x509.KeyUsage(**flags).public_bytes())


#: keyUsage critical digitalSignature (03 02 07 80), keyAgreement (03 02 03 08) and
#: keyCertSign+cRLSign (03 02 01 06), as observed (OBSERVED.md §A, §C).
KEY_USAGE_DS = _key_usage(digital_signature=True)
KEY_USAGE_KA = _key_usage(key_agreement=True)
KEY_USAGE_CA = _key_usage(key_cert_sign=True, crl_sign=True)

#: basicConstraints critical cA=TRUE pathLen 0 (issuing CAs) and cA=TRUE (roots).
BASIC_CONSTRAINTS_ISSUING = extension(
    ExtensionOID.BASIC_CONSTRAINTS, True, x509.BasicConstraints(True, 0).public_bytes()
)
BASIC_CONSTRAINTS_ROOT = extension(
    ExtensionOID.BASIC_CONSTRAINTS, True, x509.BasicConstraints(True, None).public_bytes()
)

_SKI_PREFIX = der.oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string)
_AKI_PREFIX = der.oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string)


def subject_key_identifier(key_id: bytes) -> bytes:
    return der.sequence(_SKI_PREFIX, der.octet_string(der.octet_string(key_id)))


def authority_key_identifier(key_id: bytes) -> bytes:
    """keyIdentifier only (R-PROF-2)."""
    return der.sequence(
        _AKI_PREFIX, der.octet_string(der.sequence(der.context(0, key_id, constructed=False)))
    )


def certificate_policies(policy: x509.ObjectIdentifier) -> bytes:
    """Critical, one policy, no qualifiers (R-PROF-2)."""
    value = der.sequence(der.sequence(der.oid(policy.dotted_string)))
    return extension(ExtensionOID.CERTIFICATE_POLICIES, True, value)


def device_subject_alt_name(name: HardwareModuleName) -> bytes:
    """Critical SAN with exactly one HardwareModuleName otherName (R-PROF-10)."""
    other_name = der.context(
        0,
        der.oid(name.general_name().type_id.dotted_string) + der.context(0, name.encode()),
    )
    return extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, True, der.sequence(other_name))


def from_cryptography(ext: x509.ExtensionType, critical: bool) -> bytes:
    """Any extension ``cryptography`` can encode (DCCKI SAN/EKU, the contingency key, …)."""
    return extension(ext.oid, critical, ext.public_bytes())
