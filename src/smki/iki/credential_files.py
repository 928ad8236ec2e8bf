"""The ARO credential folder (R-IKI-1): ``aro.pem``, ``aro.key``, ``ica.pem``, ``aro.json``.

The key is PKCS#8 PEM, encrypted with ``SMKI_ARO_PASSPHRASE`` when that is set; the folder is
created 0700 and the key written 0600. Existing credentials are never overwritten.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from smki.errors import Conflict, InputError

ARO_PASSPHRASE_ENV = "SMKI_ARO_PASSPHRASE"  # noqa: S105 - the variable name, not a secret
FILES = ("aro.pem", "aro.key", "ica.pem", "aro.json")


@dataclass(frozen=True)
class CredentialInfo:
    aro_id: int
    party_id: int
    environment: str


@dataclass(frozen=True)
class LoadedCredential:
    info: CredentialInfo
    certificate: bytes  # DER
    ica: bytes  # DER
    key: ec.EllipticCurvePrivateKey


def _passphrase() -> bytes | None:
    value = os.environ.get(ARO_PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def check_writable(folder: Path) -> None:
    """Refuse before anything is issued if the folder already holds a credential."""
    taken = [name for name in FILES if (folder / name).exists()]
    if taken:
        raise Conflict(
            f"{folder} already holds {', '.join(taken)}; choose an empty folder",
            code="credential-exists",
            rid="R-IKI-1",
        )


def write_credential(
    folder: Path,
    info: CredentialInfo,
    certificate: bytes,
    ica: bytes,
    key: ec.EllipticCurvePrivateKey | None,
) -> list[Path]:
    check_writable(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = x509.load_der_x509_certificate(certificate).public_bytes(Encoding.PEM)
    ica_pem = x509.load_der_x509_certificate(ica).public_bytes(Encoding.PEM)
    written = []
    _write(folder / "aro.pem", pem, 0o644)
    _write(folder / "ica.pem", ica_pem, 0o644)
    written += [folder / "aro.pem", folder / "ica.pem"]
    if key is not None:
        passphrase = _passphrase()
        protection = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
        _write(
            folder / "aro.key",
            key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, protection),
            0o600,
        )
        written.append(folder / "aro.key")
    document = {"aro_id": info.aro_id, "party_id": info.party_id, "environment": info.environment}
    _write(folder / "aro.json", (json.dumps(document, indent=2) + "\n").encode(), 0o644)
    written.append(folder / "aro.json")
    return written


def read_credential(folder: Path) -> LoadedCredential:
    try:
        raw = json.loads((folder / "aro.json").read_text("utf-8"))
        info = CredentialInfo(int(raw["aro_id"]), int(raw["party_id"]), str(raw["environment"]))
        certificate = x509.load_pem_x509_certificate((folder / "aro.pem").read_bytes())
        ica = x509.load_pem_x509_certificate((folder / "ica.pem").read_bytes())
        key_pem = (folder / "aro.key").read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{folder} is not a readable ARO credential folder: {exc}",
            code="bad-credential",
            rid="R-IKI-1",
        ) from None
    try:
        key = load_pem_private_key(key_pem, _passphrase())
    except (TypeError, ValueError):
        raise InputError(
            f"cannot decrypt {folder / 'aro.key'}: set {ARO_PASSPHRASE_ENV} to its passphrase",
            code="bad-credential-passphrase",
            rid="R-IKI-1",
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError("aro.key is not an EC key", code="bad-credential", rid="R-IKI-1")
    return LoadedCredential(
        info, certificate.public_bytes(Encoding.DER), ica.public_bytes(Encoding.DER), key
    )
