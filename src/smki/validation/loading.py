"""Reading certificates and CRLs from PEM or DER files for validation (R-RP-3).

A file may be DER (one object) or PEM with any number of blocks; objects are classified by
content (smki.lint.loading), so a CRL handed where a certificate is expected is refused by
name, whatever the file is called.
"""

from __future__ import annotations

from pathlib import Path

from smki.errors import InputError, MalformedInput
from smki.lint.loading import read_documents

_WHAT = {
    "certificate": "a certificate",
    "crl": "a CRL",
    "csr": "a CSR",
    "private-key": "a private key",
    "public-key": "a bare public key",
}


def _objects(data: bytes, wanted: str, source: str) -> list[bytes]:
    try:
        documents = read_documents(data)
    except MalformedInput as exc:
        raise MalformedInput(f"{source}: {exc.detail}") from exc
    several = len(documents) > 1
    found = []
    for number, document in enumerate(documents, start=1):
        if document.kind != wanted:
            where = f"{source} (PEM block {number})" if several else source
            raise MalformedInput(f"{where} holds {_WHAT[document.kind]}, not {_WHAT[wanted]}")
        found.append(document.der)
    return found


def certificates_from(data: bytes, source: str = "input") -> list[bytes]:
    """Every certificate in ``data`` (DER, or PEM with one or more blocks), as DER."""
    return _objects(data, "certificate", source)


def crls_from(data: bytes, source: str = "input") -> list[bytes]:
    """Every CRL or ARL in ``data`` (DER, or PEM with one or more blocks), as DER."""
    return _objects(data, "crl", source)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}", code="unreadable-file", rid="R-RP-3"
        ) from exc


def load_certificates(*paths: Path) -> list[bytes]:
    """Every certificate in the files, in order; InputError names the file that is unusable."""
    return [der for path in paths for der in certificates_from(_read(path), str(path))]


def load_crls(*paths: Path) -> list[bytes]:
    """Every CRL and ARL in the files, in order; InputError names the file that is unusable."""
    return [der for path in paths for der in crls_from(_read(path), str(path))]


def load_certificate(path: Path) -> bytes:
    """The one certificate in a file (PEM or DER)."""
    found = load_certificates(path)
    if len(found) != 1:
        raise MalformedInput(
            f"{path} holds {len(found)} certificates; give the one to check, and the others "
            "with --chain"
        )
    return found[0]
