"""The CA's pre-signing linter (R-PROF-40): our GBCS lints plus pkilint's RFC 5280 checks."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID

from smki.lint.finding import CertKind as LintKind
from smki.lint.finding import errors_only
from smki.lint.runner import lint_certificate
from smki.profiles.kinds import CertKind
from smki.x509.hwname import HardwareModuleName

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


#: End-entity kinds whose certificates differ only in per-subject values within one shape.
_SHAPED_KINDS = frozenset({CertKind.DEVICE, CertKind.ORGANISATION, CertKind.IKI})
_MAX_SHAPES = 256

Shape = tuple[object, ...]


def certificate_shape(precertificate: bytes, kind: CertKind) -> Shape | None:
    """Everything pkilint's structural RFC 5280 checks can see, but the per-subject values:
    serial, key, key identifier, hwSerialNum, subject values and times (their encodings stay).
    Two pre-certificates of one shape lint alike under pkilint."""
    if kind not in _SHAPED_KINDS:
        return None
    cert = x509.load_der_x509_certificate(precertificate)
    extensions: list[object] = []
    for extension in cert.extensions:
        if extension.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            extensions.append((extension.oid.dotted_string, extension.critical))
        elif extension.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME and kind is CertKind.DEVICE:
            names = tuple(
                (n.type_id.dotted_string, HardwareModuleName.decode(n.value).hw_type.dotted_string)
                if isinstance(n, x509.OtherName)
                else type(n).__name__
                for n in extension.value
            )
            extensions.append((extension.oid.dotted_string, extension.critical, names))
        else:
            extensions.append(
                (extension.oid.dotted_string, extension.critical, extension.value.public_bytes())
            )
    key = cert.public_key()
    curve = key.curve.name if isinstance(key, ec.EllipticCurvePublicKey) else ""
    return (
        kind,
        cert.issuer.public_bytes(),
        tuple((a.oid.dotted_string, a._type) for a in cert.subject),
        tuple(extensions),
        tuple(1950 <= t.year < 2050 for t in (cert.not_valid_before_utc, cert.not_valid_after_utc)),
        (type(key).__name__, curve),
        len(cert.serial_number.to_bytes(17, "big").lstrip(b"\0")),
    )


class ProfileLinter:
    """Lints every pre-certificate before it is signed; errors block issuance.

    The GBCS lints run on every certificate. pkilint's RFC 5280 lints run on every CA
    certificate and on the first end-entity certificate of each shape (``certificate_shape``)
    in this process: they look at structure, which the shape fixes, and cost milliseconds
    each; the per-subject values are the GBCS lints' job (R-PROF-40)."""

    def __init__(self, allowed_policies: frozenset[str] | None = None, *, rfc5280: bool = True):
        self._allowed_policies = allowed_policies
        self._rfc5280 = rfc5280
        self._clean_shapes: set[Shape] = set()

    def __call__(self, precertificate: bytes, kind: CertKind) -> Sequence[str]:
        shape = certificate_shape(precertificate, kind) if self._rfc5280 else None
        rfc5280 = self._rfc5280 and shape not in self._clean_shapes
        findings = lint_certificate(
            precertificate,
            kind=lint_kind(kind),
            allowed_policies=self._allowed_policies,
            strict_serial=True,
            rfc5280=rfc5280,
        )
        expected = _ROOT_PRESIGN_EXPECTED if kind.is_root else frozenset()
        problems = [str(f) for f in errors_only(findings) if f.lint not in expected]
        if rfc5280 and shape is not None and not problems and len(self._clean_shapes) < _MAX_SHAPES:
            self._clean_shapes.add(shape)
        return problems
