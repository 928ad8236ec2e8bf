"""Key store on encrypted files, the default key custody (R-CA-3).

Layout of the store folder (created 0700; every file 0600, written atomically):

``<label>.key.pem``
    A P-256 private key as encrypted PKCS#8 PEM (cryptography's ``BestAvailableEncryption``
    under the store passphrase).
``<label>.secret.json``
    A 256-bit symmetric key (the SMKI Symmetric Key), wrapped: the 32 random bytes are
    encrypted with AES-256-GCM under a key derived from the passphrase by scrypt with a random
    16-byte salt stored in the file (with the scrypt cost, so it can be raised later). The
    label is the associated data, so a renamed file does not silently stand in for another
    secret. ``seal`` is AES-256-GCM under the unwrapped key, the random 12-byte nonce
    prepended to ciphertext and tag.

Labels form one namespace across key pairs and secrets. The passphrase comes from the
environment or a prompt (``passphrase_from_env_or_prompt``), never from a file in the
repository, and is never written to disk, logged or shown in ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from smki.errors import Conflict, KeyStoreError, NotFound
from smki.ids import KeyLabel
from smki.keystore.base import Signer, StoreSpec

log = logging.getLogger(__name__)

_LABEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_KEY_SUFFIX = ".key.pem"
_WRAPPED_SUFFIX = ".secret.json"
_WRAPPED_FORMAT = "smki-wrapped-secret/1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_NONCE_LEN = 12
_TAG_LEN = 16


def check_label(label: str) -> KeyLabel:
    """Return ``label`` as a KeyLabel, or raise KeyStoreError ``bad-key-label``.

    The pattern keeps labels usable as file names (no separators, no leading dot) and as
    PKCS#11 CKA_LABEL values on any token.
    """
    if not _LABEL.fullmatch(label):
        raise KeyStoreError(
            f"key label {label!r} must match [a-z0-9][a-z0-9._-]{{0,63}}", code="bad-key-label"
        )
    return KeyLabel(label)


def passphrase_from_env_or_prompt(env_var: str = "SMKI_KEY_PASSPHRASE", *, prompt: bool) -> bytes:
    """The key store passphrase from ``env_var``, else from an interactive prompt (R-CA-3).

    Raises KeyStoreError ``missing-passphrase`` when the variable is absent or empty and no
    prompt is allowed or possible (stdin is not a terminal), or the prompt answer is empty.
    """
    value = os.environ.get(env_var, "")
    if not value and prompt and sys.stdin.isatty():
        value = getpass.getpass(f"Key store passphrase ({env_var} is not set): ")
    if not value:
        raise KeyStoreError(
            f"no key store passphrase: set the environment variable {env_var}"
            + (" or run interactively" if prompt else ""),
            code="missing-passphrase",
        )
    return value.encode("utf-8")


class _FileSigner:
    """A Signer over a decrypted key held only in this object's memory."""

    __slots__ = ("_key", "_label")

    def __init__(self, label: KeyLabel, key: ec.EllipticCurvePrivateKey) -> None:
        self._label = label
        self._key = key

    @property
    def label(self) -> KeyLabel:
        return self._label

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def __repr__(self) -> str:
        return f"_FileSigner(label={self._label!r})"


class FileKeyStore:
    """Encrypted PKCS#8 key files and wrapped symmetric secrets in one folder (R-CA-3)."""

    kind: str = "file"

    def __init__(self, folder: Path, passphrase: bytes) -> None:
        if not passphrase:
            raise KeyStoreError("the key store passphrase is empty", code="missing-passphrase")
        self._folder = folder.absolute()
        self._passphrase = passphrase
        # Unwrapping a secret costs a deliberate scrypt run; do it once per store object.
        self._secrets: dict[str, AESGCM] = {}
        if not self._folder.is_dir():
            self._folder.mkdir(mode=0o700, parents=True)
            # mkdir's mode is filtered by the umask; make the result exact.
            os.chmod(self._folder, 0o700)

    def __repr__(self) -> str:
        return f"FileKeyStore(folder={str(self._folder)!r})"

    # -- key pairs ---------------------------------------------------------------------------

    def generate(self, label: KeyLabel) -> Signer:
        label = check_label(label)
        self._refuse_taken(label)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        self._write_new(label, self._key_path(label), pem)
        log.info("generated P-256 key %s in %s", label, self._folder)
        return _FileSigner(label, key)

    def signer(self, label: KeyLabel) -> Signer:
        label = check_label(label)
        return _FileSigner(label, self._load_key(label))

    def exists(self, label: KeyLabel) -> bool:
        """Whether ``label`` is taken, by a key pair or a secret."""
        label = check_label(label)
        return self._key_path(label).exists() or self._secret_path(label).exists()

    def spec(self) -> StoreSpec:
        return StoreSpec(kind=self.kind, location=str(self._folder), secret=self._passphrase)

    # -- symmetric secrets -------------------------------------------------------------------

    def generate_secret(self, label: KeyLabel) -> None:
        label = check_label(label)
        self._refuse_taken(label)
        secret = AESGCM.generate_key(bit_length=256)
        salt = os.urandom(16)
        nonce = os.urandom(_NONCE_LEN)
        wrapped = AESGCM(self._kek(salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)).encrypt(
            nonce, secret, _secret_aad(label)
        )
        document = {
            "format": _WRAPPED_FORMAT,
            "kdf": {"name": "scrypt", "n": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P},
            "salt": _b64(salt),
            "aead": "AES-256-GCM",
            "nonce": _b64(nonce),
            "wrapped": _b64(wrapped),
        }
        self._write_new(label, self._secret_path(label), json.dumps(document).encode("ascii"))
        self._secrets[label] = AESGCM(secret)
        log.info("generated 256-bit secret %s in %s", label, self._folder)

    def seal(self, label: KeyLabel, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_LEN)
        return nonce + self._secret(check_label(label)).encrypt(nonce, plaintext, None)

    def unseal(self, label: KeyLabel, sealed: bytes) -> bytes:
        aead = self._secret(check_label(label))
        if len(sealed) < _NONCE_LEN + _TAG_LEN:
            raise KeyStoreError("sealed data is too short", code="unseal-failed")
        try:
            return aead.decrypt(sealed[:_NONCE_LEN], sealed[_NONCE_LEN:], None)
        except InvalidTag:
            raise KeyStoreError(
                f"sealed data does not authenticate under secret {label}", code="unseal-failed"
            ) from None

    # -- internals ---------------------------------------------------------------------------

    def _key_path(self, label: str) -> Path:
        return self._folder / f"{label}{_KEY_SUFFIX}"

    def _secret_path(self, label: str) -> Path:
        return self._folder / f"{label}{_WRAPPED_SUFFIX}"

    def _refuse_taken(self, label: KeyLabel) -> None:
        if self.exists(label):
            raise Conflict(f"key label {label} is already used in this key store", rid="R-CA-3")

    def _write_new(self, label: KeyLabel, path: Path, content: bytes) -> None:
        """Write ``content`` to ``path`` all at once, never replacing an existing file.

        The temporary file is hard-linked into place rather than renamed over: ``os.link``
        fails if the name exists, so two concurrent generators of one label cannot overwrite
        each other's key (a rename would silently discard the first key).
        """
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self._folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise Conflict(
                    f"key label {label} is already used in this key store", rid="R-CA-3"
                ) from None
        finally:
            os.unlink(tmp)
        _fsync_dir(self._folder)

    def _load_key(self, label: KeyLabel) -> ec.EllipticCurvePrivateKey:
        try:
            pem = self._key_path(label).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no key {label} in the key store", rid="R-CA-3") from None
        try:
            key = serialization.load_pem_private_key(pem, password=self._passphrase)
        except ValueError:
            # cryptography says "Bad decrypt. Incorrect password?"; the passphrase is never
            # part of the message, here or there.
            raise KeyStoreError(
                f"cannot decrypt key {label}: wrong key store passphrase", code="bad-passphrase"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise KeyStoreError(f"key {label} is not a P-256 key", code="bad-key-type")
        return key

    def _secret(self, label: KeyLabel) -> AESGCM:
        cached = self._secrets.get(label)
        if cached is not None:
            return cached
        try:
            document = json.loads(self._secret_path(label).read_bytes())
        except FileNotFoundError:
            raise NotFound(f"no secret {label} in the key store", rid="R-CA-3") from None
        try:
            if document["format"] != _WRAPPED_FORMAT:
                raise ValueError(document["format"])
            kdf = document["kdf"]
            kek = self._kek(_unb64(document["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
            nonce, wrapped = _unb64(document["nonce"]), _unb64(document["wrapped"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise KeyStoreError(
                f"secret file for {label} is malformed", code="bad-secret-file"
            ) from None
        try:
            secret = AESGCM(kek).decrypt(nonce, wrapped, _secret_aad(label))
        except InvalidTag:
            raise KeyStoreError(
                f"cannot unwrap secret {label}: wrong key store passphrase", code="bad-passphrase"
            ) from None
        aead = AESGCM(secret)
        self._secrets[label] = aead
        return aead

    def _kek(self, salt: bytes, n: int, r: int, p: int) -> bytes:
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._passphrase)


def load_private_key(spec: StoreSpec, label: str) -> ec.EllipticCurvePrivateKey:
    """The decrypted private key ``label`` of the file store ``spec``, for signing workers only.

    cryptography's X.509 builders (certificates, CRLs) sign only with a private key object,
    and a key object cannot be pickled into a worker process; a batch-signing worker (R-SI-2)
    therefore reopens the store from its spec and loads the key itself. Everything else must
    go through ``FileKeyStore.signer``, which never hands the key out (R-CA-3).
    """
    if spec.kind != FileKeyStore.kind:
        raise KeyStoreError(
            f"load_private_key needs a file key store, not {spec.kind!r}", code="bad-store-kind"
        )
    folder = Path(spec.location)
    if not folder.is_dir():
        raise NotFound(f"no key store folder {spec.location}", rid="R-CA-3")
    return FileKeyStore(folder, spec.secret)._load_key(check_label(label))


def _secret_aad(label: str) -> bytes:
    return f"{_WRAPPED_FORMAT}:{label}".encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _fsync_dir(folder: Path) -> None:
    # The new directory entry survives a crash only once the directory itself is synced.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
