"""Organisation Certificate lints (R-PROF-20, R-PROF-21, R-PROF-24).

Subject RDNs, each holding one attribute, in order: optional commonName (UTF8String),
organizationalUnitName = the Remote Party Role as two upper-case hex digits (UTF8String, as on
every ZAZ1 organisation certificate), uniqueIdentifier (2.5.4.45) = BIT STRING with no unused
bits holding the 8-octet EUI-64. A legacy DCC Boxed certificate writes role 137 in decimal
(OBSERVED.md §F, §J5). No subjectAltName.
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.errors import InputError
from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import COMMON_NAME, ORGANIZATIONAL_UNIT, Attribute, CertContext, rdns
from smki.lint.finding import CertKind
from smki.x509 import der
from smki.x509.oids import UNIQUE_IDENTIFIER
from smki.x509.roles import RemotePartyRole

_ORGANISATION = frozenset({CertKind.ORGANISATION})
_UID = UNIQUE_IDENTIFIER.dotted_string
_LABELS = {
    COMMON_NAME: "commonName",
    ORGANIZATIONAL_UNIT: "organizationalUnitName",
    _UID: "uniqueIdentifier",
}


def _attribute_problems(attribute: Attribute) -> Iterator[str]:
    if attribute.oid == COMMON_NAME and attribute.tag != der.UTF8_STRING:
        yield f"commonName has tag 0x{attribute.tag:02X}, not UTF8String"
    elif attribute.oid == ORGANIZATIONAL_UNIT:
        if attribute.tag != der.UTF8_STRING:
            yield f"organizationalUnitName has tag 0x{attribute.tag:02X}, not UTF8String"
        text = attribute.value.decode("utf-8", "replace")
        try:
            RemotePartyRole.from_ou(text)
        except InputError as exc:
            yield exc.detail
    elif attribute.oid == _UID:
        body = attribute.value
        if attribute.tag != der.BIT_STRING:
            yield f"uniqueIdentifier has tag 0x{attribute.tag:02X}, not BIT STRING"
        elif len(body) != 9 or body[0] != 0:
            yield "uniqueIdentifier is not a BIT STRING of 8 whole octets (the EUI-64)"


@cert_lint("gbcs.org_subject", "R-PROF-20", _ORGANISATION)
def org_subject(ctx: CertContext) -> Iterator[str]:
    subject = rdns(ctx.raw.subject)
    for rdn in subject:
        if len(rdn) != 1:
            yield f"an RDN holds {len(rdn)} attributes; each must hold one"
    attributes = [a for rdn in subject for a in rdn]
    order = [a.oid for a in attributes]
    if order not in ([ORGANIZATIONAL_UNIT, _UID], [COMMON_NAME, ORGANIZATIONAL_UNIT, _UID]):
        shown = ", ".join(_LABELS.get(o, o) for o in order)
        yield (
            f"subject attributes are [{shown}]; "
            "expected [commonName,] organizationalUnitName, uniqueIdentifier"
        )
    for attribute in attributes:
        yield from _attribute_problems(attribute)


@cert_lint("gbcs.org_no_san", "R-PROF-21", _ORGANISATION)
def org_no_san(ctx: CertContext) -> Iterator[str]:
    if ctx.extension(extvalues.SUBJECT_ALT_NAME) is not None:
        yield "an Organisation Certificate carries no subjectAltName"
