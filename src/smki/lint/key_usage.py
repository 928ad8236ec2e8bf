"""keyUsage lints (R-PROF-2, R-PROF-11, R-PROF-21).

keyUsage is present and critical on every SMKI certificate. A device or organisation holds
separate digitalSignature and keyAgreement certificates, so an end-entity keyUsage has exactly
one of those bits and nothing else (the RTDS negative vector sets nonRepudiation instead,
OBSERVED.md §G).
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import END_ENTITY_KINDS, SMKI_KINDS, CertKind

_ONE_OF = (frozenset({"digitalSignature"}), frozenset({"keyAgreement"}))


@cert_lint("gbcs.key_usage_critical", "R-PROF-2", SMKI_KINDS)
def key_usage_critical(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.KEY_USAGE)
    if ext is None:
        yield "keyUsage is absent"
    elif not ext.critical:
        yield "keyUsage is not critical"


@cert_lint(
    "gbcs.key_usage_single",
    "R-PROF-11",
    END_ENTITY_KINDS,
    rid_by_kind={CertKind.ORGANISATION: "R-PROF-21"},
)
def key_usage_single(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.KEY_USAGE)
    if ext is None:
        return  # reported by gbcs.key_usage_critical
    bits = extvalues.key_usage(ext.value)
    if bits not in _ONE_OF:
        shown = ", ".join(sorted(bits)) or "no bits"
        yield f"keyUsage is {shown}; exactly one of digitalSignature or keyAgreement is required"
