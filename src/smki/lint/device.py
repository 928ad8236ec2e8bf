"""Device Certificate lints (R-PROF-10, R-PROF-12).

Subject empty; subjectAltName critical with exactly one otherName HardwareModuleName whose
hwSerialNum is the device's 8-octet EUI-64; notAfter the GeneralizedTime 99991231235959Z
(no well-defined expiry). All 401 RTDS E357 device certificates conform (OBSERVED.md §E).
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography import x509

from smki.errors import SmkiError
from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import CertKind
from smki.x509 import der
from smki.x509.hwname import read_device_san

_DEVICE = frozenset({CertKind.DEVICE})
NO_EXPIRY = der.tlv(der.GENERALIZED_TIME, b"99991231235959Z")


@cert_lint("gbcs.device_subject_empty", "R-PROF-10", _DEVICE)
def device_subject_empty(ctx: CertContext) -> Iterator[str]:
    if ctx.raw.subject.value:
        yield "the subject of a Device Certificate must be empty (DER 30 00)"


@cert_lint("gbcs.device_san", "R-PROF-10", _DEVICE)
def device_san(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.SUBJECT_ALT_NAME)
    if ext is None:
        yield "subjectAltName is absent"
        return
    if not ext.critical:
        yield "subjectAltName is not critical"
    if ctx.cert is None:
        return  # gbcs.parseable reports why
    try:
        san = ctx.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        read_device_san(san)
    except SmkiError as exc:
        yield exc.detail
    except ValueError as exc:
        yield f"subjectAltName cannot be decoded: {exc}"


@cert_lint("gbcs.device_not_after", "R-PROF-12", _DEVICE)
def device_not_after(ctx: CertContext) -> Iterator[str]:
    if ctx.raw.not_after.encoded != NO_EXPIRY:
        shown = ctx.raw.not_after.value.decode("ascii", "replace")
        yield (
            f"notAfter is {shown!r} (tag 0x{ctx.raw.not_after.tag:02X}); "
            "a device's is GeneralizedTime 99991231235959Z"
        )
