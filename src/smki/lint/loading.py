"""Reading what a user hands the linter: PEM or DER, classified by content (R-PROF-40).

Files in the wild are named loosely (``.key`` holding a certificate, ``.pem`` holding a key,
git blob copies with no extension), so the kind is decided from the DER structure, and a
PEM label must agree with it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from smki.errors import MalformedInput
from smki.lint.raw import CONTEXT_0, children, read_one
from smki.x509 import der

DocumentKind = Literal["certificate", "crl", "csr"]
ContentKind = Literal["certificate", "crl", "csr", "private-key", "public-key"]

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----", re.S)
_PEM_LABELS: dict[str, ContentKind] = {
    "CERTIFICATE": "certificate",
    "X509 CRL": "crl",
    "CERTIFICATE REQUEST": "csr",
    "NEW CERTIFICATE REQUEST": "csr",
    "PRIVATE KEY": "private-key",
    "EC PRIVATE KEY": "private-key",
    "ENCRYPTED PRIVATE KEY": "private-key",
    "PUBLIC KEY": "public-key",
}
_TIME_TAGS = (der.UTC_TIME, der.GENERALIZED_TIME)


@dataclass(frozen=True)
class Document:
    """One DER object found in the input; ``label`` is its PEM label, None for bare DER."""

    kind: ContentKind
    der: bytes
    label: str | None


def _classify_signed(tbs: list[int]) -> ContentKind | None:
    """Tell certificate, CRL and CSR apart by the tags of their to-be-signed fields."""
    if tbs[:1] == [CONTEXT_0]:
        return "certificate"  # explicit [0] version
    if tbs[:1] == [der.SEQUENCE] and len(tbs) >= 3 and tbs[2] in _TIME_TAGS:
        return "crl"  # v1 CRL: signature, issuer, thisUpdate
    if tbs[:1] == [der.INTEGER] and len(tbs) >= 4:
        if tbs[3] in _TIME_TAGS:
            return "crl"  # version, signature, issuer, thisUpdate
        if tbs[1:4] == [der.SEQUENCE, der.SEQUENCE, CONTEXT_0]:
            return "csr"  # version, subject, subjectPKInfo, [0] attributes
        if tbs[1:4] == [der.SEQUENCE, der.SEQUENCE, der.SEQUENCE]:
            return "certificate"  # v1: serial, signature, issuer, validity
    return None


def classify_der(data: bytes) -> ContentKind:
    """What a DER object is, from its structure; MalformedInput when it is none we know."""
    if not data:
        raise MalformedInput("the input is empty")
    if data[0] != der.SEQUENCE:
        raise MalformedInput(
            f"neither PEM nor DER: the input starts with octet 0x{data[0]:02X}, not a SEQUENCE"
        )
    outer = read_one(data, "DER input")
    top = children(outer.value)
    tags = [t.tag for t in top]
    if tags == [der.SEQUENCE, der.SEQUENCE, der.BIT_STRING]:
        kind = _classify_signed([t.tag for t in children(top[0].value)])
        if kind is not None:
            return kind
    if tags[:3] == [der.INTEGER, der.SEQUENCE, der.OCTET_STRING] or tags[:2] == [
        der.INTEGER,
        der.OCTET_STRING,
    ]:
        return "private-key"  # PKCS#8 PrivateKeyInfo or SEC 1 ECPrivateKey
    if tags == [der.SEQUENCE, der.OCTET_STRING]:
        return "private-key"  # PKCS#8 EncryptedPrivateKeyInfo
    if tags == [der.SEQUENCE, der.BIT_STRING]:
        return "public-key"  # SubjectPublicKeyInfo
    raise MalformedInput("DER input is not a certificate, CRL, CSR or key")


def _from_pem(data: bytes) -> list[Document]:
    documents: list[Document] = []
    for number, match in enumerate(_PEM.finditer(data), start=1):
        begin, body, end = (match.group(1).decode(), match.group(2), match.group(3).decode())
        if begin != end:
            raise MalformedInput(f"PEM block {number}: BEGIN {begin} is closed by END {end}")
        try:
            decoded = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error as exc:
            raise MalformedInput(f"PEM block {number} ({begin}): invalid base64: {exc}") from exc
        try:
            kind = classify_der(decoded)
        except MalformedInput as exc:
            raise MalformedInput(f"PEM block {number} ({begin}): {exc.detail}") from exc
        expected = _PEM_LABELS.get(begin)
        if expected is not None and expected != kind:
            raise MalformedInput(f"PEM block {number} is labelled {begin} but holds a {kind}")
        documents.append(Document(kind, decoded, begin))
    if not documents:
        raise MalformedInput("the input has a PEM header but no complete PEM block")
    return documents


def read_documents(data: bytes) -> list[Document]:
    """Every object in ``data``: each PEM block in turn, or the one DER object."""
    if b"-----BEGIN " in data:
        return _from_pem(data)
    if data.strip() and all(32 <= c < 127 or c in b"\t\r\n" for c in data):
        raise MalformedInput("the input is text without a PEM block (-----BEGIN …-----)")
    return [Document(classify_der(data), data, None)]


def load_any(data: bytes) -> tuple[DocumentKind, bytes]:
    """The single certificate, CRL or CSR in ``data`` (PEM or DER) as ``(kind, der)``."""
    documents = read_documents(data)
    if len(documents) != 1:
        raise MalformedInput(f"the input holds {len(documents)} PEM blocks; expected one")
    (document,) = documents
    if document.kind == "private-key":
        raise MalformedInput("the input is a private key, not a certificate, CRL or CSR")
    if document.kind == "public-key":
        raise MalformedInput("the input is a bare public key, not a certificate, CRL or CSR")
    return document.kind, document.der
