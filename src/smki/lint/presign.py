"""The CA's pre-signing linter (R-PROF-40): our GBCS lints plus pkilint's RFC 5280 checks."""

from __future__ import annotations

from collections.abc import Sequence

from smki.lint.finding import CertKind as LintKind
from smki.lint.finding import errors_only
from smki.lint.runner import lint_certificate
from smki.profiles.kinds import CertKind

_LINT_KIND = {
    CertKind.DEVICE: LintKind.DEVICE,
    CertKind.ORGANISATION: LintKind.ORGANISATION,
    CertKind.IKI: LintKind.IKI,
    CertKind.DCCKI_TLS: LintKind.DCCKI_TLS,
}


def lint_kind(kind: CertKind) -> LintKind:
    if kind in _LINT_KIND:
        return _LINT_KIND[kind]
    return LintKind.ROOT_CA if kind.is_root else LintKind.ISSUING_CA


#: pkilint accepts a missing AKI only on a certificate that verifies under its own key; a root's
#: pre-certificate carries a placeholder signature, so this finding is expected before signing
#: and is checked again, without exception, on the signed root (tests/integration).
_ROOT_PRESIGN_EXPECTED = frozenset({"pkilint.pkix.authority_key_identifier_extension_absent"})


class ProfileLinter:
    """Lints every pre-certificate before it is signed; errors block issuance."""

    def __init__(self, allowed_policies: frozenset[str] | None = None, *, rfc5280: bool = True):
        self._allowed_policies = allowed_policies
        self._rfc5280 = rfc5280

    def __call__(self, precertificate: bytes, kind: CertKind) -> Sequence[str]:
        findings = lint_certificate(
            precertificate,
            kind=lint_kind(kind),
            allowed_policies=self._allowed_policies,
            strict_serial=True,
            rfc5280=self._rfc5280,
        )
        expected = _ROOT_PRESIGN_EXPECTED if kind.is_root else frozenset()
        return [str(f) for f in errors_only(findings) if f.lint not in expected]
