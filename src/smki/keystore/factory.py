"""Open the key store a StoreSpec describes (R-CA-3)."""

from __future__ import annotations

from pathlib import Path

from smki.errors import ConfigError
from smki.keystore.base import KeyStore, StoreSpec


def open_keystore(spec: StoreSpec) -> KeyStore:
    """A FileKeyStore for kind "file", a Pkcs11KeyStore for kind "pkcs11"; else ConfigError."""
    if spec.kind == "file":
        from smki.keystore.files import FileKeyStore

        return FileKeyStore(Path(spec.location), spec.secret)
    if spec.kind == "pkcs11":
        # Imported here so that file-key deployments never load the PKCS#11 extension module.
        from smki.keystore.pkcs11 import Pkcs11KeyStore

        return Pkcs11KeyStore(spec.location, spec.token_label, spec.secret.decode("utf-8"))
    raise ConfigError(
        f"unknown key store kind {spec.kind!r}; expected 'file' or 'pkcs11'", rid="R-CA-3"
    )
