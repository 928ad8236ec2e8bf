"""Lints for IKI and DCCKI certificates (R-PROF-33, R-PROF-34).

These are not GBCS SMKI certificates: only RFC 5280 (pkilint), time encoding and these few
profile checks apply. IKI certificates: P-256, keyUsage digitalSignature, subject O and CN of
the holder. DCCKI TLS certificates: subjectAltName dNSName, extendedKeyUsage serverAuth or
clientAuth, P-256 or RSA of at least 2048 bits, validity at most two years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from smki.lint import extvalues
from smki.lint.base import cert_lint
from smki.lint.context import COMMON_NAME, ORGANIZATION, CertContext, rdns
from smki.lint.finding import CertKind

_IKI = frozenset({CertKind.IKI})
_DCCKI = frozenset({CertKind.DCCKI_TLS})
_TLS_USAGES = frozenset({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH})


@cert_lint("iki.subject", "R-PROF-33", _IKI)
def iki_subject(ctx: CertContext) -> Iterator[str]:
    types = {a.oid for rdn in rdns(ctx.raw.subject) for a in rdn}
    for oid, label in ((ORGANIZATION, "organizationName"), (COMMON_NAME, "commonName")):
        if oid not in types:
            yield f"an IKI certificate subject names the holder's {label}"


@cert_lint("iki.key_usage", "R-PROF-33", _IKI)
def iki_key_usage(ctx: CertContext) -> Iterator[str]:
    ext = ctx.extension(extvalues.KEY_USAGE)
    if ext is None:
        yield "keyUsage is absent"
        return
    bits = extvalues.key_usage(ext.value)
    if bits != {"digitalSignature"}:
        shown = ", ".join(sorted(bits)) or "empty"
        yield f"keyUsage is {shown}; an IKI certificate's is digitalSignature"


def _extension_value(ctx: CertContext, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    if ctx.cert is None:
        return None
    try:
        return ctx.cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


@cert_lint("dccki.san_dns", "R-PROF-34", _DCCKI)
def dccki_san_dns(ctx: CertContext) -> Iterator[str]:
    san = _extension_value(ctx, x509.SubjectAlternativeName)
    if not isinstance(san, x509.SubjectAlternativeName) or not san.get_values_for_type(
        x509.DNSName
    ):
        yield "a DCCKI TLS certificate names its host in a subjectAltName dNSName"


@cert_lint("dccki.eku", "R-PROF-34", _DCCKI)
def dccki_eku(ctx: CertContext) -> Iterator[str]:
    eku = _extension_value(ctx, x509.ExtendedKeyUsage)
    usages = frozenset(eku) if isinstance(eku, x509.ExtendedKeyUsage) else frozenset()
    if not usages or not usages <= _TLS_USAGES:
        shown = ", ".join(sorted(u.dotted_string for u in usages)) or "absent"
        yield f"extendedKeyUsage is {shown}; a DCCKI certificate's is serverAuth and/or clientAuth"


@cert_lint("dccki.key", "R-PROF-34", _DCCKI)
def dccki_key(ctx: CertContext) -> Iterator[str]:
    if ctx.cert is None:
        return
    key = ctx.cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            yield f"EC key on {key.curve.name}; DCCKI allows P-256"
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            yield f"RSA key of {key.key_size} bits; DCCKI requires at least 2048"
    else:
        yield f"{type(key).__name__} keys are not allowed; DCCKI allows P-256 or RSA-2048+"


def _plus_two_years(at: dt.datetime) -> dt.datetime:
    try:
        return at.replace(year=at.year + 2)
    except ValueError:  # 29 February
        return at.replace(year=at.year + 2, day=28)


@cert_lint("dccki.validity", "R-PROF-34", _DCCKI)
def dccki_validity(ctx: CertContext) -> Iterator[str]:
    if ctx.cert is None:
        return
    start, end = ctx.cert.not_valid_before_utc, ctx.cert.not_valid_after_utc
    if end > _plus_two_years(start):
        yield f"validity {start:%Y-%m-%d} → {end:%Y-%m-%d} exceeds two years"
