"""Key store on a PKCS#11 token (HSM), tested on SoftHSM2 2.6 (R-CA-3).

What the token does (checked against SoftHSM 2.6.1 through python-pkcs11 0.10):

- Key pairs: CKM_EC_KEY_PAIR_GEN on P-256; both halves are token objects with CKA_LABEL = our
  label and CKA_ID = the label's bytes; the private key is private, sensitive and not
  extractable, so it never leaves the token.
- Signing: CKM_ECDSA over a SHA-256 digest computed here. SoftHSM 2.6 refuses
  CKM_ECDSA_SHA256 (CKR_MECHANISM_INVALID). The token returns r||s (64 bytes), which is
  DER-encoded as Ecdsa-Sig-Value.
- Secrets: CKM_AES_KEY_GEN, 256 bits, sensitive and not extractable. ``seal`` is CKM_AES_GCM
  on the token (12-byte random nonce, no AAD, 128-bit tag); the output is nonce || ciphertext
  || tag, the same layout as the file store. SoftHSM reports a failed tag check as
  CKR_GENERAL_ERROR, so every token failure during ``unseal`` is ``unseal-failed``.

Login is per process and token, not per session: a second C_Login fails with
CKR_USER_ALREADY_LOGGED_IN, and closing a logged-in session (python-pkcs11 then calls
C_Logout) logs every session out. So one process-wide *anchor* session per (module, token)
holds the login and each store object opens its own plain session beside it. A later store
presenting a different PIN is refused as ``pkcs11-bad-pin``: the token would not check it.

Sessions do not survive ``fork``; signing workers are started with the spawn method and call
``signer_from_spec``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from smki.errors import Conflict, KeyStoreError, NotFound
from smki.ids import KeyLabel
from smki.keystore.base import Signer, StoreSpec
from smki.keystore.files import check_label

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_NONCE_LEN = 12
_TAG_BITS = 128
_P256_ORDER_BYTES = 32


@dataclass
class _Anchor:
    session: pkcs11.Session
    pin_digest: bytes
    pid: int


_ANCHOR_LOCK = threading.Lock()
_ANCHORS: dict[tuple[str, str], _Anchor] = {}


def pin_from_env(var: str = "SMKI_PKCS11_PIN") -> str:
    """The token user PIN from ``var``; KeyStoreError ``missing-pin`` if unset or empty."""
    pin = os.environ.get(var, "")
    if not pin:
        raise KeyStoreError(
            f"no PKCS#11 user PIN: set the environment variable {var}", code="missing-pin"
        )
    return pin


class _Pkcs11Signer:
    """A Signer whose private key stays on the token; only an object handle is held here."""

    __slots__ = ("_key", "_label", "_public", "_session", "_store")

    def __init__(
        self,
        store: Pkcs11KeyStore,
        label: KeyLabel,
        session: pkcs11.Session,
        key: pkcs11.SignMixin,
        public: ec.EllipticCurvePublicKey,
    ) -> None:
        self._store = store
        self._label = label
        self._session = session
        self._key = key
        self._public = public

    @property
    def label(self) -> KeyLabel:
        return self._label

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()

        def sign(session: pkcs11.Session) -> bytes:
            if session is not self._session:
                # Object handles die with their session; the store reopened it after a loss.
                self._session, self._key = session, _signing_key(session, self._label)
            return self._key.sign(digest, mechanism=Mechanism.ECDSA)

        raw = self._store._locked(sign)
        if len(raw) != 2 * _P256_ORDER_BYTES:
            raise KeyStoreError(
                f"token returned a {len(raw)}-byte ECDSA signature", code="pkcs11-failed"
            )
        r = int.from_bytes(raw[:_P256_ORDER_BYTES], "big")
        s = int.from_bytes(raw[_P256_ORDER_BYTES:], "big")
        return encode_dss_signature(r, s)

    def __repr__(self) -> str:
        return f"_Pkcs11Signer(label={self._label!r})"


class Pkcs11KeyStore:
    """P-256 key pairs and AES-256 secrets on one PKCS#11 token (R-CA-3).

    The session is opened on first use; one lock serialises this store's token calls.
    """

    kind: str = "pkcs11"

    def __init__(self, module_path: str, token_label: str, pin: str) -> None:
        self._module_path = module_path
        self._token_label = token_label
        self._pin = pin
        self._lock = threading.Lock()
        self._session: pkcs11.Session | None = None

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore(module={self._module_path!r}, token={self._token_label!r})"

    # -- key pairs ---------------------------------------------------------------------------

    def generate(self, label: KeyLabel) -> Signer:
        label = check_label(label)

        def create(session: pkcs11.Session) -> None:
            _refuse_taken(session, label)
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(
                id=label.encode("ascii"),
                label=label,
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )

        self._locked(create)
        log.info("generated P-256 key %s on token %s", label, self._token_label)
        return self.signer(label)

    def signer(self, label: KeyLabel) -> Signer:
        label = check_label(label)

        def find(session: pkcs11.Session) -> _Pkcs11Signer:
            public = _find(session, label, ObjectClass.PUBLIC_KEY)
            if not isinstance(public, pkcs11.PublicKey):
                raise KeyStoreError(f"token key {label} is not a key pair", code="bad-key-type")
            key = _signing_key(session, label)
            return _Pkcs11Signer(self, label, session, key, _public_key(public, label))

        return self._locked(find)

    def exists(self, label: KeyLabel) -> bool:
        """Whether ``label`` is taken on the token, by a key pair or a secret."""
        label = check_label(label)
        return self._locked(lambda session: _taken(session, label))

    def spec(self) -> StoreSpec:
        return StoreSpec(
            kind=self.kind,
            location=self._module_path,
            token_label=self._token_label,
            secret=self._pin.encode("utf-8"),
        )

    # -- symmetric secrets -------------------------------------------------------------------

    def generate_secret(self, label: KeyLabel) -> None:
        label = check_label(label)

        def create(session: pkcs11.Session) -> None:
            _refuse_taken(session, label)
            session.generate_key(
                KeyType.AES,
                256,
                id=label.encode("ascii"),
                label=label,
                store=True,
                capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )

        self._locked(create)
        log.info("generated AES-256 secret %s on token %s", label, self._token_label)

    def seal(self, label: KeyLabel, plaintext: bytes) -> bytes:
        label = check_label(label)
        nonce = os.urandom(_NONCE_LEN)

        def encrypt(session: pkcs11.Session) -> bytes:
            key = _find(session, label, ObjectClass.SECRET_KEY)
            if not isinstance(key, pkcs11.EncryptMixin):
                raise KeyStoreError(f"token secret {label} cannot encrypt", code="bad-key-type")
            return _bytes(
                key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=_gcm(nonce))
            )

        return nonce + self._locked(encrypt)

    def unseal(self, label: KeyLabel, sealed: bytes) -> bytes:
        label = check_label(label)
        if len(sealed) < _NONCE_LEN + _TAG_BITS // 8:
            raise KeyStoreError("sealed data is too short", code="unseal-failed")

        def decrypt(session: pkcs11.Session) -> bytes:
            key = _find(session, label, ObjectClass.SECRET_KEY)
            if not isinstance(key, pkcs11.DecryptMixin):
                raise KeyStoreError(f"token secret {label} cannot decrypt", code="bad-key-type")
            try:
                return _bytes(
                    key.decrypt(
                        sealed[_NONCE_LEN:],
                        mechanism=Mechanism.AES_GCM,
                        mechanism_param=_gcm(sealed[:_NONCE_LEN]),
                    )
                )
            except pkcs11.PKCS11Error:
                raise KeyStoreError(
                    f"sealed data does not authenticate under secret {label}",
                    code="unseal-failed",
                ) from None

        return self._locked(decrypt)

    # -- sessions ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close this store's session; the process-wide login stays for other stores."""
        with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                session.close()

    def _locked(self, operation: Callable[[pkcs11.Session], _T]) -> _T:
        """Run ``operation`` on this store's session, holding the store lock.

        Token errors become KeyStoreError: their class name is logged and reported, never
        any attribute values.
        """
        with self._lock:
            try:
                if self._session is None:
                    self._session = _open_session(self._module_path, self._token_label, self._pin)
                return operation(self._session)
            except pkcs11.PKCS11Error as exc:
                log.warning("PKCS#11 call failed on token %s: %r", self._token_label, exc)
                if isinstance(exc, pkcs11.SessionHandleInvalid | pkcs11.SessionClosed):
                    self._session = None
                raise KeyStoreError(
                    f"PKCS#11 call failed ({type(exc).__name__})", code="pkcs11-failed"
                ) from None


def signer_from_spec(spec: StoreSpec, label: str) -> Signer:
    """Reopen the token store ``spec`` in this process and return the Signer for ``label``.

    For signing worker processes (R-SI-2): a token session cannot cross a process boundary,
    so each worker opens its own from the spec.
    """
    if spec.kind != Pkcs11KeyStore.kind:
        raise KeyStoreError(
            f"signer_from_spec needs a PKCS#11 key store, not {spec.kind!r}",
            code="bad-store-kind",
        )
    store = Pkcs11KeyStore(spec.location, spec.token_label, spec.secret.decode("utf-8"))
    return store.signer(check_label(label))


def _open_session(module_path: str, token_label: str, pin: str) -> pkcs11.Session:
    digest = hashlib.sha256(pin.encode("utf-8")).digest()
    with _ANCHOR_LOCK:
        if any(anchor.pid != os.getpid() for anchor in _ANCHORS.values()):
            raise KeyStoreError(
                "PKCS#11 sessions do not survive fork; start workers with the spawn method",
                code="pkcs11-forked",
            )
        anchor = _ANCHORS.get((module_path, token_label))
        if anchor is None:
            token = _token(module_path, token_label)
            anchor = _Anchor(_login(token, token_label, pin), digest, os.getpid())
            _ANCHORS[(module_path, token_label)] = anchor
        elif not hmac.compare_digest(anchor.pin_digest, digest):
            raise KeyStoreError(f"wrong user PIN for token {token_label}", code="pkcs11-bad-pin")
        return anchor.session.token.open(rw=True)


def _token(module_path: str, token_label: str) -> pkcs11.Token:
    if not Path(module_path).is_file():
        raise KeyStoreError(f"no PKCS#11 module at {module_path}", code="pkcs11-module")
    try:
        lib = pkcs11.lib(module_path)
    except pkcs11.PKCS11Error:
        raise KeyStoreError(
            f"cannot load the PKCS#11 module {module_path}", code="pkcs11-module"
        ) from None
    try:
        return lib.get_token(token_label=token_label)
    except pkcs11.NoSuchToken:
        raise KeyStoreError(f"no token labelled {token_label!r}", code="pkcs11-no-token") from None
    except pkcs11.MultipleTokensReturned:
        raise KeyStoreError(
            f"more than one token labelled {token_label!r}", code="pkcs11-no-token"
        ) from None


def _login(token: pkcs11.Token, token_label: str, pin: str) -> pkcs11.Session:
    try:
        return token.open(rw=True, user_pin=pin)
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
        raise KeyStoreError(
            f"wrong user PIN for token {token_label}", code="pkcs11-bad-pin"
        ) from None
    except pkcs11.UserAlreadyLoggedIn:
        # Someone else in this process logged in without our registry; their login covers
        # our session too, but the PIN given here goes unchecked.
        log.warning("token %s was already logged in by this process", token_label)
        return token.open(rw=True)
    except pkcs11.PinLocked:
        raise KeyStoreError(
            f"the user PIN of token {token_label} is locked", code="pkcs11-pin-locked"
        ) from None


def _find(session: pkcs11.Session, label: KeyLabel, object_class: ObjectClass) -> pkcs11.Key:
    try:
        return session.get_key(object_class=object_class, label=label)
    except pkcs11.NoSuchKey:
        what = "secret" if object_class == ObjectClass.SECRET_KEY else "key"
        raise NotFound(f"no {what} {label} on the token", rid="R-CA-3") from None
    except pkcs11.MultipleObjectsReturned:
        raise KeyStoreError(
            f"more than one token object labelled {label}", code="pkcs11-duplicate-label"
        ) from None


def _signing_key(session: pkcs11.Session, label: KeyLabel) -> pkcs11.SignMixin:
    key = _find(session, label, ObjectClass.PRIVATE_KEY)
    if not isinstance(key, pkcs11.SignMixin):
        raise KeyStoreError(f"token key {label} cannot sign", code="bad-key-type")
    return key


def _taken(session: pkcs11.Session, label: KeyLabel) -> bool:
    return next(iter(session.get_objects({Attribute.LABEL: label})), None) is not None


def _refuse_taken(session: pkcs11.Session, label: KeyLabel) -> None:
    # Check and create are two token calls; the store lock covers this process only, which
    # is enough because keys are generated by the single ceremony process.
    if _taken(session, label):
        raise Conflict(f"key label {label} is already used on the token", rid="R-CA-3")


def _public_key(public: pkcs11.PublicKey, label: KeyLabel) -> ec.EllipticCurvePublicKey:
    # CKA_EC_POINT is a DER OCTET STRING around the uncompressed point; python-pkcs11 turns
    # it and CKA_EC_PARAMS into a SubjectPublicKeyInfo that cryptography can load.
    key = serialization.load_der_public_key(encode_ec_public_key(public))
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyStoreError(f"token key {label} is not a P-256 key", code="bad-key-type")
    return key


def _gcm(nonce: bytes) -> pkcs11.GCMParams:
    return pkcs11.GCMParams(nonce, None, _TAG_BITS)


def _bytes(result: bytes | Iterator[bytes]) -> bytes:
    # python-pkcs11 returns an iterator only for iterator input, which we never pass.
    return result if isinstance(result, bytes) else b"".join(result)
