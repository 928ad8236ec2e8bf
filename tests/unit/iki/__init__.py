"""IKI unit tests (R-IKI-1), and the throwaway IKI they share with the token fuzzer.

``environment(name)`` builds a root, an ICA and one ARO certificate (P-256, ECDSA-SHA256)
with cryptography's ``CertificateBuilder``; ``FakeTrust`` answers ``TokenTrust`` from memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from smki.iki.tokens import make_token

NOW = dt.datetime(2026, 3, 2, 12, 0, 0, tzinfo=dt.UTC)
AUDIENCE = "/api/v1/certificate-requests"
ARO_ID = "42"
_YEAR = dt.timedelta(days=365)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Party"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    usage.update(key_cert_sign=ca, crl_sign=ca, digital_signature=not ca)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass(frozen=True)
class Environment:
    """An IKI: root, ICA and one ARO credential, as a test's environment or another one."""

    ica_key: ec.EllipticCurvePrivateKey
    ica: x509.Certificate
    aro_key: ec.EllipticCurvePrivateKey
    aro: x509.Certificate

    @property
    def ica_der(self) -> bytes:
        return self.ica.public_bytes(Encoding.DER)

    @property
    def aro_der(self) -> bytes:
        return self.aro.public_bytes(Encoding.DER)

    def token(
        self,
        *,
        at: dt.datetime = NOW,
        audience: str = AUDIENCE,
        lifetime: int = 300,
        jti: str | None = None,
    ) -> str:
        """A token from this environment's ARO, made with ``make_token``."""
        return make_token(
            self.aro_key,
            self.aro_der,
            self.ica_der,
            aro_id=ARO_ID,
            audience=audience,
            now=at,
            lifetime=lifetime,
            jti=jti,
        )

    def issue_aro(self, not_before: dt.datetime, not_after: dt.datetime) -> Environment:
        """The same ICA with a new ARO credential valid from ``not_before`` to ``not_after``."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(
            "ARO 42",
            key,
            self.ica,
            self.ica_key,
            ca=False,
            not_before=not_before,
            not_after=not_after,
        )
        return Environment(self.ica_key, self.ica, key, cert)


def environment(name: str) -> Environment:
    """A fresh root, ICA and ARO certificate, all valid a year either side of ``NOW``."""
    start, end = NOW - _YEAR, NOW + _YEAR
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(
        f"{name} Root", root_key, None, root_key, ca=True, not_before=start, not_after=end
    )
    ica_key = ec.generate_private_key(ec.SECP256R1())
    ica = _certificate(
        f"{name} ICA", ica_key, root, root_key, ca=True, not_before=start, not_after=end
    )
    return Environment(ica_key, ica, ica_key, ica).issue_aro(start, end)


@dataclass
class FakeTrust:
    """``TokenTrust`` in memory: the trusted ICAs, revoked serials and the jtis seen."""

    icas: Sequence[bytes]
    revoked: set[int] = field(default_factory=set)
    jtis: dict[str, dt.datetime] = field(default_factory=dict)

    def trusted_icas(self) -> Sequence[bytes]:
        return self.icas

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        return certificate.serial_number in self.revoked

    def use_jti(self, jti: str, expires_at: dt.datetime) -> bool:
        if jti in self.jtis:
            return False
        self.jtis[jti] = expires_at
        return True
