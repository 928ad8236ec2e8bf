"""The baseline: a minimal Device issuer on pyca/cryptography alone, nothing of smki.

Per CSR: ``load_der_x509_csr``, ``is_signature_valid``, read keyUsage and subjectAltName, then
``CertificateBuilder`` (empty subject, issuer name, serial, notBefore now, notAfter
9999-12-31T23:59:59Z, KU critical, SKI, SAN critical, certificatePolicies critical, AKI) signed
with a P-256 key. No database, no lint, no re-parse of the signed certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from tests.bench.pools import warm

_NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
_EMPTY = x509.Name([])


@dataclass(frozen=True)
class BaselineSpec:
    """What a baseline worker needs: its key (PEM, unencrypted) and the issuer's identity."""

    key_pem: bytes
    issuer_certificate: bytes  # DER; its subject becomes the issuer name
    policy: str  # dotted OID


@dataclass(frozen=True)
class _Issuer:
    key: ec.EllipticCurvePrivateKey
    name: x509.Name
    aki: x509.AuthorityKeyIdentifier
    policies: x509.CertificatePolicies


_issuer: _Issuer | None = None


def _key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The 8-octet method-2 key identifier that GBCS certificates carry."""
    point = public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    low = bytearray(hashlib.sha1(point, usedforsecurity=False).digest()[-8:])
    low[0] = 0x40 | (low[0] & 0x0F)
    return bytes(low)


def initialise(spec: BaselineSpec) -> None:
    """Worker initialiser (also called in-process): load the key once."""
    global _issuer
    key = load_pem_private_key(spec.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    certificate = x509.load_der_x509_certificate(spec.issuer_certificate)
    _issuer = _Issuer(
        key=key,
        name=certificate.subject,
        aki=x509.AuthorityKeyIdentifier(_key_id(key.public_key()), None, None),
        policies=x509.CertificatePolicies(
            [x509.PolicyInformation(x509.ObjectIdentifier(spec.policy), None)]
        ),
    )


def _serial() -> int:
    """16 octets, first octet 0x10…0x7F, as smki draws them."""
    return int.from_bytes(bytes([0x10 + secrets.randbelow(0x70)]) + secrets.token_bytes(15), "big")


def issue_chunk(csrs: list[bytes]) -> list[bytes]:
    """Parse, verify, build and sign one certificate per CSR; DER certificates in order."""
    issuer = _issuer
    assert issuer is not None, "baseline worker not initialised"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out: list[bytes] = []
    for data in csrs:
        csr = x509.load_der_x509_csr(data)
        if not csr.is_signature_valid:
            raise ValueError("CSR signature does not verify")
        extensions = csr.extensions
        usage = extensions.get_extension_for_class(x509.KeyUsage).value
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        public_key = csr.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_EMPTY)
            .issuer_name(issuer.name)
            .serial_number(_serial())
            .not_valid_before(now)
            .not_valid_after(_NO_EXPIRY)
            .public_key(public_key)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier(_key_id(public_key)), critical=False)
            .add_extension(san, critical=True)
            .add_extension(issuer.policies, critical=True)
            .add_extension(issuer.aki, critical=False)
            .sign(issuer.key, hashes.SHA256())
        )
        out.append(certificate.public_bytes(Encoding.DER))
    return out


# -- parent side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineFigures:
    processes: int
    startup: float  # seconds: pool creation until every worker answered (0 in-process)
    seconds: float
    issued: int


def new_spec(issuer_certificate: bytes, policy: str) -> BaselineSpec:
    """A spec with a fresh P-256 key standing in for the Issuing DCA's."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return BaselineSpec(pem, issuer_certificate, policy)


def _chunks(csrs: Sequence[bytes], chunk: int) -> list[list[bytes]]:
    return [list(csrs[start : start + chunk]) for start in range(0, len(csrs), chunk)]


def run_in_process(spec: BaselineSpec, csrs: Sequence[bytes], chunk: int) -> BaselineFigures:
    initialise(spec)
    chunks = _chunks(csrs, chunk)
    started = time.perf_counter()
    issued = sum(len(issue_chunk(part)) for part in chunks)
    return BaselineFigures(1, 0.0, time.perf_counter() - started, issued)


def run_pool(
    spec: BaselineSpec, csrs: Sequence[bytes], chunk: int, processes: int
) -> BaselineFigures:
    """All chunks submitted at once to a spawn pool of ``processes`` workers, results
    gathered in order (as ``DeviceBatchIssuer`` does, without its database work)."""
    chunks = _chunks(csrs, chunk)
    started = time.perf_counter()
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initialise,
        initargs=(spec,),
    ) as pool:
        warm(pool.submit, processes)
        startup = time.perf_counter() - started
        started = time.perf_counter()
        futures = [pool.submit(issue_chunk, part) for part in chunks]
        issued = sum(len(future.result()) for future in futures)
        seconds = time.perf_counter() - started
    return BaselineFigures(processes, startup, seconds, issued)
