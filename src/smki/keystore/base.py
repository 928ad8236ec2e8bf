"""The Signer and KeyStore protocols every key store implements (R-CA-3).

Private keys never leave a store unencrypted and are never logged: a Signer exposes the public
key and a ``sign`` operation, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from smki.ids import KeyLabel


class Signer(Protocol):
    @property
    def label(self) -> KeyLabel: ...

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The P-256 public key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """ECDSA with SHA-256 over ``data``; the signature DER-encoded (Ecdsa-Sig-Value)."""
        ...


@dataclass(frozen=True)
class StoreSpec:
    """Enough to reopen a key store in another process (a signing worker).

    ``secret`` (the passphrase or PIN) is held in memory only; ``repr`` hides it.
    """

    kind: str  # "file" or "pkcs11"
    location: str  # folder of key files, or the PKCS#11 module path
    token_label: str = ""
    secret: bytes = field(default=b"", repr=False)


class KeyStore(Protocol):
    kind: str

    def generate(self, label: KeyLabel) -> Signer:
        """Create a new P-256 key pair under ``label``; Conflict if the label is taken."""
        ...

    def signer(self, label: KeyLabel) -> Signer:
        """The Signer for an existing key; NotFound if there is none."""
        ...

    def exists(self, label: KeyLabel) -> bool: ...

    def generate_secret(self, label: KeyLabel) -> None:
        """Create a new 256-bit symmetric key under ``label`` (the SMKI Symmetric Key)."""
        ...

    def seal(self, label: KeyLabel, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` with the symmetric key ``label`` (authenticated)."""
        ...

    def unseal(self, label: KeyLabel, sealed: bytes) -> bytes:
        """Invert ``seal``; KeyStoreError if the data was altered or the key is wrong."""
        ...

    def spec(self) -> StoreSpec:
        """How to reopen this store elsewhere (signing worker processes)."""
        ...
