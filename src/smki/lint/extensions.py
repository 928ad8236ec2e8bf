"""Which extensions, in which order (R-PROF-4, R-PROF-13, R-PROF-23, R-PROF-30, R-PROF-31).

Each profile fixes its extension list and DER order:
device KU, SKI, SAN, CP, AKI; organisation KU, SKI, CP, AKI; issuing CA KU, BC, CP, SKI, AKI;
root KU, BC, CP, SKI and then the wrapped Contingency Public Key extension, whose OID is
configuration (R-PROF-31), so any one non-critical extension outside the RFC 5280 arcs is
accepted there. CRL distribution points, AIA and extendedKeyUsage never appear (R-PROF-4);
end-entity certificates carry no basicConstraints (the "OB" certificates do, OBSERVED.md §D).
Order is judged separately from presence: a missing extension is the presence lint's finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from smki.lint import extvalues as ev
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import END_ENTITY_KINDS, PROFILED_KINDS, SMKI_KINDS, CertKind

PROFILE_ORDER: dict[CertKind, tuple[str, ...]] = {
    CertKind.DEVICE: (
        ev.KEY_USAGE,
        ev.SUBJECT_KEY_IDENTIFIER,
        ev.SUBJECT_ALT_NAME,
        ev.CERTIFICATE_POLICIES,
        ev.AUTHORITY_KEY_IDENTIFIER,
    ),
    CertKind.ORGANISATION: (
        ev.KEY_USAGE,
        ev.SUBJECT_KEY_IDENTIFIER,
        ev.CERTIFICATE_POLICIES,
        ev.AUTHORITY_KEY_IDENTIFIER,
    ),
    CertKind.ISSUING_CA: (
        ev.KEY_USAGE,
        ev.BASIC_CONSTRAINTS,
        ev.CERTIFICATE_POLICIES,
        ev.SUBJECT_KEY_IDENTIFIER,
        ev.AUTHORITY_KEY_IDENTIFIER,
    ),
    CertKind.ROOT_CA: (
        ev.KEY_USAGE,
        ev.BASIC_CONSTRAINTS,
        ev.CERTIFICATE_POLICIES,
        ev.SUBJECT_KEY_IDENTIFIER,
    ),
}
_ORDER_RIDS = {
    CertKind.DEVICE: "R-PROF-13",
    CertKind.ORGANISATION: "R-PROF-23",
    CertKind.ISSUING_CA: "R-PROF-30",
    CertKind.ROOT_CA: "R-PROF-31",
}
FORBIDDEN = (ev.CRL_DISTRIBUTION_POINTS, ev.AUTHORITY_INFO_ACCESS, ev.EXTENDED_KEY_USAGE)
#: Arcs of standard extensions; the root's contingency-key extension is outside them.
_STANDARD_ARCS = ("2.5.29.", "1.3.6.1.5.5.7.1.")


def _names(oids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(ev.extension_name(o) for o in oids)


def _is_contingency_candidate(oid: str) -> bool:
    return not oid.startswith(_STANDARD_ARCS)


@cert_lint("gbcs.no_forbidden_extensions", "R-PROF-4", SMKI_KINDS)
def no_forbidden_extensions(ctx: CertContext) -> Iterator[str]:
    for ext in ctx.raw.extensions:
        if ext.oid in FORBIDDEN:
            yield f"{ev.extension_name(ext.oid)} is not allowed on SMKI certificates"


@cert_lint(
    "gbcs.no_basic_constraints_on_end_entity",
    "R-PROF-23",
    END_ENTITY_KINDS,
    rid_by_kind={CertKind.DEVICE: "R-PROF-13"},
)
def no_basic_constraints_on_end_entity(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(ev.BASIC_CONSTRAINTS)
    if ext is not None:
        value = ev.basic_constraints(ext.value)
        critical = "critical" if ext.critical else "non-critical"
        yield (
            f"basicConstraints ({critical}, cA={'TRUE' if value.ca else 'FALSE'}) is present "
            f"on an end-entity ({ctx.kind}) certificate"
        )


@cert_lint("gbcs.extension_order", "R-PROF-13", PROFILED_KINDS, rid_by_kind=_ORDER_RIDS)
def extension_order(ctx: CertContext) -> Iterator[str]:
    profile = PROFILE_ORDER[ctx.kind]
    oids = [e.oid for e in ctx.raw.extensions]
    present = [o for o in oids if o in profile]
    wanted = [o for o in profile if o in present]
    if present != wanted:
        yield (
            f"extensions are in the order {_names(present)}; "
            f"the {ctx.kind} order is {_names(profile)}"
        )
    if ctx.kind is CertKind.ROOT_CA:
        last_profiled = max((i for i, o in enumerate(oids) if o in profile), default=-1)
        for index, oid in enumerate(oids):
            if _is_contingency_candidate(oid) and index < last_profiled:
                yield f"the contingency key extension {oid} precedes the profile's extensions"


@cert_lint("gbcs.no_unexpected_extensions", "R-PROF-13", PROFILED_KINDS, rid_by_kind=_ORDER_RIDS)
def no_unexpected_extensions(ctx: CertContext) -> Iterator[str]:
    profile = PROFILE_ORDER[ctx.kind]
    counts = Counter(e.oid for e in ctx.raw.extensions)
    for oid, count in counts.items():
        if count > 1:
            yield f"{ev.extension_name(oid)} appears {count} times"
    # Reported by their own lints, so each deviation is named once.
    reported_elsewhere = set(FORBIDDEN)
    if ctx.kind in END_ENTITY_KINDS:
        reported_elsewhere.add(ev.BASIC_CONSTRAINTS)
    extra = [
        e for e in ctx.raw.extensions if e.oid not in profile and e.oid not in reported_elsewhere
    ]
    if ctx.kind is CertKind.ROOT_CA:
        contingency = [e for e in extra if _is_contingency_candidate(e.oid)]
        if len(contingency) <= 1:
            extra = [e for e in extra if e not in contingency]
            for ext in contingency:
                if ext.critical:
                    yield f"the contingency key extension {ext.oid} is critical"
    for ext in extra:
        yield f"{ev.extension_name(ext.oid)} is not part of the {ctx.kind} profile"
