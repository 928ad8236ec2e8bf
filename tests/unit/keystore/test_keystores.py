"""Key stores on files and on SoftHSM2 behave alike and keep private keys inside (R-CA-3)."""

from __future__ import annotations

import io
import logging
import multiprocessing
import stat
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from smki.errors import ConfigError, Conflict, KeyStoreError, NotFound
from smki.ids import KeyLabel
from smki.keystore import pkcs11 as p11store
from smki.keystore.base import KeyStore, Signer, StoreSpec
from smki.keystore.factory import open_keystore
from smki.keystore.files import FileKeyStore, load_private_key, passphrase_from_env_or_prompt
from smki.keystore.pkcs11 import Pkcs11KeyStore, pin_from_env, signer_from_spec
from tests.fixtures.keystores import FILE_PASSPHRASE, SoftHsmToken

DATA = b"to be signed by the SMKI"


def new_label() -> KeyLabel:
    return KeyLabel(f"t-{uuid.uuid4().hex[:16]}")


def verify(public: ec.EllipticCurvePublicKey, signature: bytes, data: bytes = DATA) -> None:
    public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def _in_fresh_process(spec: StoreSpec, label: str, sealed: bytes) -> tuple[bytes, bytes]:
    """Runs in a spawned process: reopen the store from its spec, sign and unseal."""
    store = open_keystore(spec)
    return store.signer(KeyLabel(label)).sign(DATA), store.unseal(KeyLabel(f"{label}.s"), sealed)


def _pin_code_in_fresh_process(spec: StoreSpec) -> str:
    """Runs in a child process: the error code of opening the store, or "accepted"."""
    try:
        open_keystore(spec).exists(KeyLabel("anything"))
    except KeyStoreError as exc:
        return exc.code
    return "accepted"


# -- both kinds -----------------------------------------------------------------------------


def test_generate_sign_verify(keystore: KeyStore) -> None:
    label = new_label()
    signer = keystore.generate(label)
    assert signer.label == label
    assert isinstance(signer.public_key().curve, ec.SECP256R1)
    signature = signer.sign(DATA)
    decode_dss_signature(signature)  # DER Ecdsa-Sig-Value, not raw r||s
    verify(signer.public_key(), signature)
    assert keystore.exists(label)
    again = keystore.signer(label)
    assert again.public_key() == signer.public_key()
    verify(signer.public_key(), again.sign(DATA))


def test_signature_does_not_verify_other_data(keystore: KeyStore) -> None:
    signer = keystore.generate(new_label())
    with pytest.raises(InvalidSignature):
        verify(signer.public_key(), signer.sign(DATA), DATA + b"!")


def test_generate_twice_is_a_conflict(keystore: KeyStore) -> None:
    label = new_label()
    keystore.generate(label)
    with pytest.raises(Conflict):
        keystore.generate(label)
    with pytest.raises(Conflict):
        keystore.generate_secret(label)


def test_secret_label_is_taken_for_key_pairs(keystore: KeyStore) -> None:
    label = new_label()
    keystore.generate_secret(label)
    assert keystore.exists(label)
    with pytest.raises(Conflict):
        keystore.generate(label)
    with pytest.raises(NotFound):
        keystore.signer(label)


def test_missing_labels_are_not_found(keystore: KeyStore) -> None:
    label = new_label()
    assert not keystore.exists(label)
    with pytest.raises(NotFound):
        keystore.signer(label)
    with pytest.raises(NotFound):
        keystore.seal(label, b"x")


def test_seal_unseal_round_trip(keystore: KeyStore) -> None:
    label = new_label()
    keystore.generate_secret(label)
    for plaintext in (b"", b"SMKI symmetric key use", bytes(range(256)) * 40):
        sealed = keystore.seal(label, plaintext)
        assert plaintext not in sealed or not plaintext
        assert len(sealed) == 12 + len(plaintext) + 16
        assert keystore.unseal(label, sealed) == plaintext
    assert keystore.seal(label, b"same") != keystore.seal(label, b"same")  # fresh nonces


def test_unseal_of_altered_data_fails(keystore: KeyStore) -> None:
    label = new_label()
    keystore.generate_secret(label)
    sealed = keystore.seal(label, b"meter secrets")
    for index in (0, 12, len(sealed) - 1):  # nonce, ciphertext, tag
        altered = bytearray(sealed)
        altered[index] ^= 0x01
        with pytest.raises(KeyStoreError) as caught:
            keystore.unseal(label, bytes(altered))
        assert caught.value.code == "unseal-failed"
    with pytest.raises(KeyStoreError) as caught:
        keystore.unseal(label, sealed[:20])
    assert caught.value.code == "unseal-failed"


def test_sealed_data_is_bound_to_its_secret(keystore: KeyStore) -> None:
    first, second = new_label(), new_label()
    keystore.generate_secret(first)
    keystore.generate_secret(second)
    with pytest.raises(KeyStoreError) as caught:
        keystore.unseal(second, keystore.seal(first, b"x"))
    assert caught.value.code == "unseal-failed"


@pytest.mark.parametrize(
    "bad", ["", "Upper", ".hidden", "-dash", "a/b", "../up", "a b", "é", "x" * 65, "a\n"]
)
def test_labels_are_validated(keystore: KeyStore, bad: str) -> None:
    label = KeyLabel(bad)
    for operation in (
        keystore.generate,
        keystore.signer,
        keystore.exists,
        keystore.generate_secret,
        lambda lbl: keystore.seal(lbl, b"x"),
    ):
        with pytest.raises(KeyStoreError) as caught:
            operation(label)
        assert caught.value.code == "bad-key-label"


def test_longest_label_is_accepted(keystore: KeyStore) -> None:
    label = KeyLabel(new_label() + "." + "z" * 45)
    assert len(label) == 64
    verify(keystore.generate(label).public_key(), keystore.signer(label).sign(DATA))


def test_reopen_from_spec_in_this_process(keystore: KeyStore) -> None:
    label = new_label()
    public = keystore.generate(label).public_key()
    reopened = open_keystore(keystore.spec())
    assert reopened.kind == keystore.kind
    verify(public, reopened.signer(label).sign(DATA))


def test_reopen_from_spec_in_a_spawned_process(keystore: KeyStore) -> None:
    label = new_label()
    public = keystore.generate(label).public_key()
    keystore.generate_secret(KeyLabel(f"{label}.s"))
    sealed = keystore.seal(KeyLabel(f"{label}.s"), b"for the worker")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        signature, plaintext = pool.apply(_in_fresh_process, (keystore.spec(), label, sealed))
    verify(public, signature)
    assert plaintext == b"for the worker"


def test_concurrent_signing(keystore: KeyStore) -> None:
    signer = keystore.generate(new_label())
    with ThreadPoolExecutor(max_workers=4) as pool:
        signatures = list(pool.map(lambda i: signer.sign(DATA + bytes([i])), range(32)))
    for index, signature in enumerate(signatures):
        verify(signer.public_key(), signature, DATA + bytes([index]))


def test_signer_exposes_no_private_key(keystore: KeyStore) -> None:
    signer: Signer = keystore.generate(new_label())
    for name in dir(signer):
        if not name.startswith("_"):
            assert not isinstance(getattr(signer, name), ec.EllipticCurvePrivateKey)
    assert "private" not in " ".join(n for n in dir(signer) if not n.startswith("_"))


def test_spec_repr_hides_the_secret(keystore: KeyStore) -> None:
    spec = keystore.spec()
    assert spec.secret
    assert spec.secret.decode() not in repr(spec)
    assert spec.secret.decode() not in repr(keystore)


# -- file store -----------------------------------------------------------------------------


def test_file_modes_and_layout(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "new" / "keys", FILE_PASSPHRASE)
    store.generate(KeyLabel("root-oca"))
    store.generate_secret(KeyLabel("smki-symmetric"))
    folder = tmp_path / "new" / "keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["root-oca.key.pem", "smki-symmetric.secret.json"]  # no temp files left
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = (folder / "root-oca.key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_wrong_passphrase_is_precise_and_discreet(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, FILE_PASSPHRASE).generate(KeyLabel("k"))
    FileKeyStore(tmp_path, FILE_PASSPHRASE).generate_secret(KeyLabel("s"))
    wrong = FileKeyStore(tmp_path, b"not the passphrase")
    for attempt in (lambda: wrong.signer(KeyLabel("k")), lambda: wrong.seal(KeyLabel("s"), b"")):
        with pytest.raises(KeyStoreError) as caught:
            attempt()
        assert caught.value.code == "bad-passphrase"
        assert b"not the passphrase" not in str(caught.value).encode()
        assert caught.value.__cause__ is None


def test_passphrase_never_written_shown_or_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = FileKeyStore(tmp_path, FILE_PASSPHRASE)
    signer = store.generate(KeyLabel("k"))
    store.generate_secret(KeyLabel("s"))
    store.unseal(KeyLabel("s"), store.seal(KeyLabel("s"), b"data"))
    reopened = open_keystore(store.spec())
    reopened.signer(KeyLabel("k")).sign(DATA)
    reopened.unseal(KeyLabel("s"), reopened.seal(KeyLabel("s"), b"data"))
    with pytest.raises(KeyStoreError):
        reopened.unseal(KeyLabel("s"), b"\x00" * 40)
    assert caplog.records  # the operations do log, just not the passphrase
    text = FILE_PASSPHRASE.decode()
    assert text not in caplog.text
    for path in tmp_path.iterdir():
        assert FILE_PASSPHRASE not in path.read_bytes()
    for shown in (repr(store.spec()), repr(store), repr(signer), str(store.spec())):
        assert text not in shown


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError) as caught:
        FileKeyStore(tmp_path, b"")
    assert caught.value.code == "missing-passphrase"


def test_load_private_key_for_workers(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, FILE_PASSPHRASE)
    public = store.generate(KeyLabel("issuing-dca")).public_key()
    key = load_private_key(store.spec(), "issuing-dca")
    assert key.public_key() == public
    with pytest.raises(NotFound):
        load_private_key(store.spec(), "absent")
    with pytest.raises(NotFound):
        load_private_key(StoreSpec("file", str(tmp_path / "none"), secret=b"p"), "k")
    with pytest.raises(KeyStoreError) as caught:
        load_private_key(StoreSpec("pkcs11", "/x.so", secret=b"1"), "k")
    assert caught.value.code == "bad-store-kind"


def test_passphrase_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMKI_KEY_PASSPHRASE", "correct horse")
    assert passphrase_from_env_or_prompt(prompt=False) == b"correct horse"
    monkeypatch.setenv("OTHER_VAR", "battery")
    assert passphrase_from_env_or_prompt("OTHER_VAR", prompt=False) == b"battery"


@pytest.mark.parametrize("value", [None, ""])
def test_missing_passphrase_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("SMKI_KEY_PASSPHRASE", raising=False)
    else:
        monkeypatch.setenv("SMKI_KEY_PASSPHRASE", value)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # not a terminal: no prompt possible
    for prompt in (False, True):
        with pytest.raises(KeyStoreError) as caught:
            passphrase_from_env_or_prompt(prompt=prompt)
        assert caught.value.code == "missing-passphrase"
        assert "SMKI_KEY_PASSPHRASE" in caught.value.detail


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_passphrase_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMKI_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed")
    assert passphrase_from_env_or_prompt(prompt=True) == b"typed"
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    with pytest.raises(KeyStoreError) as caught:
        passphrase_from_env_or_prompt(prompt=True)
    assert caught.value.code == "missing-passphrase"
    with pytest.raises(KeyStoreError):
        passphrase_from_env_or_prompt(prompt=False)  # a terminal, but prompting not allowed


# -- PKCS#11 store --------------------------------------------------------------------------


def test_token_keys_are_sensitive_and_not_extractable(softhsm_token: SoftHsmToken) -> None:
    store = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, softhsm_token.pin)
    key_label, secret_label = new_label(), new_label()
    store.generate(key_label)
    store.generate_secret(secret_label)
    token = pkcs11.lib(softhsm_token.module).get_token(token_label=softhsm_token.label)
    # No PIN: the store's login covers every session of this process.
    with token.open() as session:
        for label, object_class in (
            (key_label, pkcs11.ObjectClass.PRIVATE_KEY),
            (secret_label, pkcs11.ObjectClass.SECRET_KEY),
        ):
            key = session.get_key(object_class=object_class, label=label)
            assert key[pkcs11.Attribute.TOKEN] is True
            assert key[pkcs11.Attribute.SENSITIVE] is True
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            assert key[pkcs11.Attribute.ID] == label.encode()
            with pytest.raises(pkcs11.AttributeSensitive):
                key[pkcs11.Attribute.VALUE]
    store.close()


def test_wrong_pin_in_process(softhsm_token: SoftHsmToken) -> None:
    good = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, softhsm_token.pin)
    good.exists(new_label())  # make sure this process is logged in
    bad = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, "9999")
    with pytest.raises(KeyStoreError) as caught:
        bad.exists(new_label())
    assert caught.value.code == "pkcs11-bad-pin"
    assert "9999" not in str(caught.value)
    good.close()


def test_wrong_pin_checked_by_the_token(softhsm_token: SoftHsmToken) -> None:
    spec = StoreSpec("pkcs11", softhsm_token.module, softhsm_token.label, secret=b"9999")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_pin_code_in_fresh_process, (spec,)) == "pkcs11-bad-pin"


def test_missing_token_and_module(softhsm_token: SoftHsmToken) -> None:
    cases = [
        (Pkcs11KeyStore(softhsm_token.module, "no-such-token", "1234"), "pkcs11-no-token"),
        (Pkcs11KeyStore("/nonexistent/libpkcs11.so", "t", "1234"), "pkcs11-module"),
        (Pkcs11KeyStore(str(softhsm_token.conf), "t", "1234"), "pkcs11-module"),  # not a .so
    ]
    for store, code in cases:
        with pytest.raises(KeyStoreError) as caught:
            store.exists(new_label())
        assert caught.value.code == code


def test_signer_from_spec(softhsm_token: SoftHsmToken) -> None:
    store = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, softhsm_token.pin)
    label = new_label()
    public = store.generate(label).public_key()
    verify(public, signer_from_spec(store.spec(), label).sign(DATA))
    with pytest.raises(KeyStoreError) as caught:
        signer_from_spec(StoreSpec("file", "/tmp"), label)
    assert caught.value.code == "bad-store-kind"
    store.close()


def test_signer_survives_a_reopened_session(softhsm_token: SoftHsmToken) -> None:
    store = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, softhsm_token.pin)
    signer = store.generate(new_label())
    store.close()  # the signer's object handle is now stale
    verify(signer.public_key(), signer.sign(DATA))
    store.close()


def test_forked_child_is_refused(softhsm_token: SoftHsmToken) -> None:
    store = Pkcs11KeyStore(softhsm_token.module, softhsm_token.label, softhsm_token.pin)
    store.exists(new_label())  # this process now holds the login
    with multiprocessing.get_context("fork").Pool(1) as pool:
        code = pool.apply(_pin_code_in_fresh_process, (store.spec(),))
    assert code == "pkcs11-forked"
    store.close()


def test_pin_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMKI_PKCS11_PIN", "4321")
    assert pin_from_env() == "4321"
    monkeypatch.delenv("SMKI_PKCS11_PIN")
    with pytest.raises(KeyStoreError) as caught:
        pin_from_env()
    assert caught.value.code == "missing-pin"
    assert "SMKI_PKCS11_PIN" in caught.value.detail


# -- factory --------------------------------------------------------------------------------


def test_factory_picks_by_kind(tmp_path: Path) -> None:
    assert isinstance(open_keystore(StoreSpec("file", str(tmp_path), secret=b"p")), FileKeyStore)
    opened = open_keystore(StoreSpec("pkcs11", "/x.so", "tok", secret=b"1"))
    assert isinstance(opened, p11store.Pkcs11KeyStore)  # lazy: nothing is loaded yet
    with pytest.raises(ConfigError):
        open_keystore(StoreSpec("vault", "somewhere"))
