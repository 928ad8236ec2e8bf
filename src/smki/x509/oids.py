"""Object identifiers used by the GBCS certificate profiles (SPEC §2)."""

from __future__ import annotations

from cryptography.x509.oid import ObjectIdentifier

#: id-on-hardwareModuleName, RFC 4108 (R-PROF-10).
HARDWARE_MODULE_NAME = ObjectIdentifier("1.3.6.1.5.5.7.8.4")
#: hwType observed on the RTDS device certificates and CSR (OBSERVED.md §E).
DEFAULT_DEVICE_HW_TYPE = ObjectIdentifier("1.2.826.0.1.8641679.1.2.2.1")
#: Policy OID observed on every ZAZ1 organisation and CA certificate (OBSERVED.md §A, §C).
OBSERVED_ORGANISATION_POLICY = ObjectIdentifier("1.2.826.0.1.8641679.1.2.1.4")
#: Policy OID observed on the RTDS device certificates (OBSERVED.md §E).
OBSERVED_DEVICE_POLICY = ObjectIdentifier("1.2.826.0.1.1800000.1.2.1.4")
#: uniqueIdentifier / x500UniqueIdentifier (R-PROF-20).
UNIQUE_IDENTIFIER = ObjectIdentifier("2.5.4.45")
#: ecdsa-with-SHA256 (R-PROF-1).
ECDSA_WITH_SHA256 = ObjectIdentifier("1.2.840.10045.4.3.2")
#: id-ecPublicKey and prime256v1.
EC_PUBLIC_KEY = ObjectIdentifier("1.2.840.10045.2.1")
PRIME256V1 = ObjectIdentifier("1.2.840.10045.3.1.7")
#: [smki decision] The WrappedApexContingencyKey extension's public OID is unknown (R-PROF-31);
#: this default, under the documentation enterprise number 32473 (RFC 5612), is configuration.
DEFAULT_CONTINGENCY_KEY_EXTENSION = ObjectIdentifier("1.3.6.1.4.1.32473.31.1")
