"""CRL and ARL lints (R-REP-5, R-PROF-1, R-PROF-5, R-PROF-40).

Full CRLs signed by the issuing CA (CRL) or root (ARL) are v2 with nextUpdate, a cRLNumber
and an authorityKeyIdentifier keyIdentifier, signed ecdsa-with-SHA256 with absent parameters,
with UTCTime before 2050 and GeneralizedTime from 2050.
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint import extvalues
from smki.lint.algorithm import algorithm_problems
from smki.lint.base import crl_lint
from smki.lint.raw import RawCrl, read_one
from smki.lint.time_encoding import time_problems
from smki.x509 import der


@crl_lint("gbcs.crl_version", "R-REP-5")
def crl_version(crl: RawCrl) -> Iterator[str]:
    if crl.version is None:
        yield "version is absent (a v1 CRL); v2 is required for CRL extensions"
    elif crl.version != 1:
        yield f"version is {crl.version}, not 1 (v2)"


@crl_lint("gbcs.crl_number", "R-REP-5")
def crl_number(crl: RawCrl) -> Iterator[str]:
    ext = crl.extension(extvalues.CRL_NUMBER)
    if ext is None:
        yield "cRLNumber is absent"
        return
    if ext.critical:
        yield "cRLNumber is critical"
    number = read_one(ext.value, "cRLNumber")
    if number.tag != der.INTEGER or not number.value or number.value[0] & 0x80:
        yield "cRLNumber is not a non-negative INTEGER"
    elif len(number.value) > 20:
        yield f"cRLNumber is {len(number.value)} octets; at most 20 are allowed"


@crl_lint("gbcs.crl_aki_keyid", "R-REP-5")
def crl_aki_keyid(crl: RawCrl) -> Iterator[str]:
    ext = crl.extension(extvalues.AUTHORITY_KEY_IDENTIFIER)
    if ext is None:
        yield "authorityKeyIdentifier is absent"
        return
    if ext.critical:
        yield "authorityKeyIdentifier is critical"
    aki = extvalues.authority_key_identifier(ext.value)
    if aki.key_identifier is None:
        yield "authorityKeyIdentifier has no keyIdentifier"
    if aki.has_issuer or aki.has_serial:
        yield "authorityKeyIdentifier carries authorityCertIssuer/authorityCertSerialNumber"


@crl_lint("gbcs.crl_next_update", "R-REP-5")
def crl_next_update(crl: RawCrl) -> Iterator[str]:
    if crl.next_update is None:
        yield "nextUpdate is absent; relying parties judge freshness by it"


@crl_lint("gbcs.crl_signature_algorithm", "R-PROF-1")
def crl_signature_algorithm(crl: RawCrl) -> Iterator[str]:
    yield from algorithm_problems(crl.tbs_signature, "tbsCertList.signature")
    yield from algorithm_problems(crl.signature_algorithm, "signatureAlgorithm")
    if crl.tbs_signature.encoded != crl.signature_algorithm.encoded:
        yield "tbsCertList.signature and signatureAlgorithm differ"


@crl_lint("gbcs.crl_time_encoding", "R-PROF-5")
def crl_time_encoding(crl: RawCrl) -> Iterator[str]:
    yield from time_problems("thisUpdate", crl.this_update)
    if crl.next_update is not None:
        yield from time_problems("nextUpdate", crl.next_update)
    for index, date in enumerate(crl.revocation_dates):
        yield from time_problems(f"revokedCertificates[{index}].revocationDate", date)
