"""Run the GBCS lints and pkilint's RFC 5280 lints over a certificate or CRL (R-PROF-40).

The issuance cycle lints every TBS before the real signature (R-CA-4) and the tests run the
same lints over the public GBCS vectors; both go through :func:`lint_certificate` and
:func:`lint_crl`. ``kind`` says which profile applies: the issuer knows what it issued, and
only ``None`` falls back to detection (see :mod:`smki.lint.context`).
"""

from __future__ import annotations

from smki.lint.context import LintOptions, build_context
from smki.lint.finding import CertKind, Finding, errors_only
from smki.lint.loading import load_any
from smki.lint.raw import parse_crl
from smki.lint.registry import CERTIFICATE_LINTS, CRL_LINTS
from smki.lint.rfc5280 import lint_certificate_rfc5280, lint_crl_rfc5280

__all__ = ["CertKind", "Finding", "errors_only", "lint_certificate", "lint_crl", "load_any"]


def lint_certificate(
    der: bytes,
    *,
    kind: CertKind | str | None = None,
    allowed_policies: frozenset[str] | None = None,
    strict_serial: bool = False,
    rfc5280: bool = True,
) -> list[Finding]:
    """Every finding for one DER certificate: GBCS/IKI/DCCKI lints for its kind, then
    pkilint's RFC 5280 lints (unless ``rfc5280=False``).

    Raises MalformedInput when the bytes are not a certificate at all, and ValueError for an
    unknown ``kind`` string.
    """
    options = LintOptions(allowed_policies=allowed_policies, strict_serial=strict_serial)
    ctx = build_context(der, CertKind(kind) if kind is not None else None, options)
    findings: list[Finding] = []
    for lint in CERTIFICATE_LINTS:
        if lint.applies(ctx):
            findings += lint.run(ctx)
    if rfc5280:
        findings += lint_certificate_rfc5280(der)
    return findings


def lint_crl(der: bytes, *, rfc5280: bool = True) -> list[Finding]:
    """Every finding for one DER CRL or ARL; raises MalformedInput when it is not a CRL."""
    crl = parse_crl(der)
    findings: list[Finding] = []
    for lint in CRL_LINTS:
        findings += lint.run(crl)
    if rfc5280:
        findings += lint_crl_rfc5280(der)
    return findings
