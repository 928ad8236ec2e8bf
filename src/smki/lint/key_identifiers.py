"""Key identifier lints (R-PROF-2).

subjectKeyIdentifier: non-critical, 8 octets, RFC 5280 §4.2.1.2 method (2) over the
subjectPublicKey (verified on every vector that has one, OBSERVED.md §C; the DCC Boxed device
certificates have none, §E4). authorityKeyIdentifier: non-critical, keyIdentifier only,
absent only on a self-signed root (the self-signed "xml-sign" certificates lack it although
their issuer name is Z1's, §F).
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import SMKI_KINDS, CertKind
from smki.x509.keyid import key_id_from_point


@cert_lint("gbcs.ski_present", "R-PROF-2", SMKI_KINDS)
def ski_present(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.SUBJECT_KEY_IDENTIFIER)
    if ext is None:
        yield "subjectKeyIdentifier is absent"
    elif ext.critical:
        yield "subjectKeyIdentifier is critical"


@cert_lint("gbcs.ski_method2", "R-PROF-2", SMKI_KINDS)
def ski_method2(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.SUBJECT_KEY_IDENTIFIER)
    if ext is None:
        return  # reported by gbcs.ski_present
    actual = extvalues.subject_key_identifier(ext.value)
    expected = key_id_from_point(ctx.raw.subject_public_key)
    if actual != expected:
        yield (
            f"subjectKeyIdentifier {actual.hex().upper()} is not the RFC 5280 method (2) "
            f"value {expected.hex().upper()}"
        )


@cert_lint("gbcs.aki_present", "R-PROF-2", SMKI_KINDS, rid_by_kind={CertKind.ROOT_CA: "R-PROF-31"})
def aki_present(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.AUTHORITY_KEY_IDENTIFIER)
    if ctx.kind is CertKind.ROOT_CA:
        # A self-signed root names no other key; a present AKI is reported by
        # gbcs.no_unexpected_extensions.
        return
    if ext is None:
        yield "authorityKeyIdentifier is absent (allowed only on a self-signed root)"
    elif ext.critical:
        yield "authorityKeyIdentifier is critical"


@cert_lint("gbcs.aki_keyid_only", "R-PROF-2", SMKI_KINDS)
def aki_keyid_only(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.AUTHORITY_KEY_IDENTIFIER)
    if ext is None:
        return
    aki = extvalues.authority_key_identifier(ext.value)
    if aki.key_identifier is None:
        yield "authorityKeyIdentifier has no keyIdentifier"
    elif len(aki.key_identifier) != 8:
        yield f"authorityKeyIdentifier keyIdentifier has {len(aki.key_identifier)} octets, not 8"
    if aki.has_issuer or aki.has_serial:
        yield "authorityKeyIdentifier carries authorityCertIssuer/authorityCertSerialNumber"
