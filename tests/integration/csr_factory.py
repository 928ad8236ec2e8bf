"""CSRs for the integration tests: OpenSSL-made device CSRs and hand-built bad ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from smki.ids import EntityId
from smki.x509.hwname import HardwareModuleName
from smki.x509.names import organisation_subject
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE
from smki.x509.roles import RemotePartyRole

_OPENSSL_DEVICE_CONF = """[req]
distinguished_name = dn
[dn]
[hmn]
hwType = OID:{hw_type}
hwSerialNum = FORMAT:HEX,OCTETSTRING:{eui}
"""


def openssl_device_csr(folder: Path, eui: str, usage: str = "digitalSignature") -> Path:
    """A Device CSR made by OpenSSL's own ``req``: P-256, empty subject, critical keyUsage and
    critical HardwareModuleName SAN (the form GBCS devices send, R-PROF-14)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / f"{eui}-{usage}.key"
    conf = folder / f"{eui}-{usage}.cnf"
    csr = folder / f"{eui}-{usage}.csr"
    conf.write_text(
        _OPENSSL_DEVICE_CONF.format(hw_type=DEFAULT_DEVICE_HW_TYPE.dotted_string, eui=eui)
    )
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            str(key),
            "-subj",
            "/",
            "-config",
            str(conf),
            "-addext",
            f"keyUsage=critical,{usage}",
            "-addext",
            "subjectAltName=critical,otherName:1.3.6.1.5.5.7.8.4;SEQUENCE:hmn",
            "-out",
            str(csr),
        ],
        check=True,
        capture_output=True,
    )
    return csr


def _hmn_san(eui: bytes, count: int = 1) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        HardwareModuleName(DEFAULT_DEVICE_HW_TYPE, EntityId(eui)).general_name()
        for _ in range(count)
    ]
    return x509.SubjectAlternativeName(names)


def _usage(ds: bool, ka: bool) -> x509.KeyUsage:
    return x509.KeyUsage(ds, False, False, False, ka, False, False, False, False)


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def built_csr(
    *,
    key: PrivateKey | None = None,
    subject: x509.Name | None = None,
    usage: x509.KeyUsage | None = None,
    san: x509.SubjectAlternativeName | None = None,
) -> bytes:
    """A PEM CSR built with cryptography, for the shapes OpenSSL's req will not make."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject or x509.Name([]))
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if san is not None:
        builder = builder.add_extension(san, critical=True)
    signing_key = key or ec.generate_private_key(ec.SECP256R1())
    return builder.sign(signing_key, hashes.SHA256()).public_bytes(Encoding.PEM)


def device_csr(eui: bytes, *, ds: bool = True, ka: bool = False, **kwargs: object) -> bytes:
    return built_csr(usage=_usage(ds, ka), san=_hmn_san(eui), **kwargs)  # type: ignore[arg-type]


def organisation_csr(
    role: RemotePartyRole, eui: bytes, *, ds: bool = True, common_name: str | None = None
) -> bytes:
    return built_csr(
        subject=organisation_subject(role, EntityId(eui), common_name), usage=_usage(ds, not ds)
    )


def bad_csrs(eui: bytes) -> dict[str, tuple[bytes, str]]:
    """name → (CSR bytes, the refusal code smki must give)."""
    good = device_csr(eui)
    der = x509.load_pem_x509_csr(good).public_bytes(Encoding.DER)
    tampered = der[:-3] + bytes([der[-3] ^ 0x01]) + der[-2:]
    return {
        "malformed-pem": (
            b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n"
            b"-----END CERTIFICATE REQUEST-----\n",
            "malformed-csr",
        ),
        "garbage-der": (b"\x30\x03\x02\x01", "malformed-csr"),
        "bad-signature": (tampered, "bad-proof-of-possession"),
        "p384-key": (device_csr(eui, key=ec.generate_private_key(ec.SECP384R1())), "wrong-curve"),
        "rsa-key": (device_csr(eui, key=rsa.generate_private_key(65537, 2048)), "wrong-key-type"),
        "both-usages": (device_csr(eui, ds=True, ka=True), "key-usage-count"),
        "no-usage": (built_csr(san=_hmn_san(eui)), "key-usage-count"),
        "two-san-names": (
            built_csr(usage=_usage(True, False), san=_hmn_san(eui, 2)),
            "san-name-count",
        ),
        "subject-on-device": (
            built_csr(
                subject=organisation_subject(RemotePartyRole.SUPPLIER, EntityId(eui)),
                usage=_usage(True, False),
                san=_hmn_san(eui),
            ),
            "device-subject-not-empty",
        ),
    }
