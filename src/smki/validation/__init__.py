"""The relying-party library (R-RP-1, R-RP-2, R-RP-3): may this certificate be relied on?

Depends only on ``x509``, ``profiles``, ``lint``, ``errors`` and cryptography (no storage,
HTTP, CA or CLI), so the CLI (``smki verify``), the repository's HTTP endpoint and any relying
party call the same code::

    trust = TrustStore.from_der([root_der], intermediates=[issuing_der])
    lists = RevocationLists.from_der([crl_der, arl_der])
    verdict = validate(certificate_der, trust=trust, crls=lists, expect_usage=KeyUse("ds"))
    if not verdict.ok:
        print(verdict.reason, verdict.detail)

See docs/validation.md for the checks, their order and the refusal codes.
"""

from smki.validation.checks import SuspensionCheck
from smki.validation.crls import RevocationList, RevocationLists, parse_crl
from smki.validation.loading import (
    certificates_from,
    crls_from,
    load_certificate,
    load_certificates,
    load_crls,
)
from smki.validation.trust import TrustStore
from smki.validation.validate import validate
from smki.validation.verdict import CertificateSummary, Reason, Verdict

__all__ = [
    "CertificateSummary",
    "Reason",
    "RevocationList",
    "RevocationLists",
    "SuspensionCheck",
    "TrustStore",
    "Verdict",
    "certificates_from",
    "crls_from",
    "load_certificate",
    "load_certificates",
    "load_crls",
    "parse_crl",
    "validate",
]
