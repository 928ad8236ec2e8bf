"""certificatePolicies lints (R-PROF-2).

Present and critical, exactly one policy OID for the environment, no qualifiers. The RTDS
"CN=0001" device certificate has it non-critical (OBSERVED.md §E3, §J1). Which OIDs an
environment allows is configuration (two different values are observed, §J4).
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import SMKI_KINDS


@cert_lint("gbcs.policies_critical", "R-PROF-2", SMKI_KINDS)
def policies_critical(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.CERTIFICATE_POLICIES)
    if ext is None:
        yield "certificatePolicies is absent"
    elif not ext.critical:
        yield "certificatePolicies is not critical"


@cert_lint("gbcs.policies_single_no_qualifiers", "R-PROF-2", SMKI_KINDS)
def policies_single_no_qualifiers(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.CERTIFICATE_POLICIES)
    if ext is None:
        return  # reported by gbcs.policies_critical
    policies = extvalues.certificate_policies(ext.value)
    if len(policies) != 1:
        yield f"certificatePolicies holds {len(policies)} policies; exactly one is required"
    for policy in policies:
        if policy.has_qualifiers:
            yield f"policy {policy.oid} carries policyQualifiers"


@cert_lint("gbcs.policy_allowed", "R-PROF-2", SMKI_KINDS)
def policy_allowed(ctx: CertContext) -> Iterator[str]:
    allowed = ctx.options.allowed_policies
    ext = ctx.extension(extvalues.CERTIFICATE_POLICIES)
    if allowed is None or ext is None:
        return
    for policy in extvalues.certificate_policies(ext.value):
        if policy.oid not in allowed:
            yield f"policy {policy.oid} is not one of this environment's {sorted(allowed)}"
