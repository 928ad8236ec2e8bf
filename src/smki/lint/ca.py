"""CA certificate lints (R-PROF-30, R-PROF-31, R-PROF-32).

basicConstraints critical with cA TRUE; an issuing CA has pathLenConstraint 0 (Z1 does,
OBSERVED.md §A); keyUsage exactly keyCertSign and cRLSign.
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import CA_KINDS, CertKind

_CA_BITS = frozenset({"keyCertSign", "cRLSign"})
_ROOT_RID = {CertKind.ROOT_CA: "R-PROF-31"}


@cert_lint("gbcs.ca_basic_constraints", "R-PROF-30", CA_KINDS, rid_by_kind=_ROOT_RID)
def ca_basic_constraints(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.BASIC_CONSTRAINTS)
    if ext is None:
        yield "basicConstraints is absent"
        return
    if not ext.critical:
        yield "basicConstraints is not critical"
    value = extvalues.basic_constraints(ext.value)
    if not value.ca:
        yield "basicConstraints cA is not TRUE"
    if ctx.kind is CertKind.ISSUING_CA and value.path_length != 0:
        yield f"an issuing CA has pathLenConstraint 0, not {value.path_length}"


@cert_lint("gbcs.ca_key_usage", "R-PROF-30", CA_KINDS, rid_by_kind=_ROOT_RID)
def ca_key_usage(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.KEY_USAGE)
    if ext is None:
        return  # reported by gbcs.key_usage_critical
    bits = extvalues.key_usage(ext.value)
    if bits != _CA_BITS:
        yield f"keyUsage is {', '.join(sorted(bits)) or 'empty'}; a CA's is keyCertSign, cRLSign"
