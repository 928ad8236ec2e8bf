"""The relying party's check of an extract, and each refusal's own code (R-REP-6, R-RP-1)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from cryptography import x509

from smki.ca.issuer import CertificateFacts, issue_one
from smki.errors import IntegrityError, MalformedInput
from smki.ids import KeyLabel
from smki.iki import jws
from smki.profiles import build
from smki.profiles.build import SubjectKey
from smki.profiles.kinds import CertKind, KeyUse, Pki
from smki.repository.extract_signature import sign_manifest
from smki.repository.extract_verify import verify_extract
from smki.repository.file_signing import FileSigner
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.names import holder_subject
from tests.integration.extracts.support import ENV, PkiHome, at, der, members, rewrite

Change = Callable[[dict[str, bytes]], dict[str, bytes]]


@pytest.fixture
def extract(pki: PkiHome, tmp_path: Path) -> Path:
    """A full extract with something in every member."""
    pki.clock.set(at(1))
    serial = pki.issue_organisation(bytes.fromhex("90B3D51F30010000")).serial
    pki.clock.set(at(2))
    pki.revoke(serial)
    pki.issue_device(bytes.fromhex("00DB1234567890A1"))
    pki.clock.set(at(3))
    path = tmp_path / "full.tar.gz"
    pki.extract(path)
    return path


def _check(pki: PkiHome, path: Path, anchor: str = Pki.IKI.root) -> None:
    verify_extract(path, [pki.ca_certificate(anchor)], now=pki.clock.now())


def test_a_good_extract_verifies_under_the_root_or_the_ica(pki: PkiHome, extract: Path) -> None:
    for anchor in (Pki.IKI.root, Pki.IKI.issuing):
        verified = verify_extract(extract, [pki.ca_certificate(anchor)], now=pki.clock.now())
        assert verified.manifest.kind == "full"
        assert verified.signer.subject.rfc4514_string() == "CN=SMKI Repository file signing,O=DCC"


def _flip_last_byte(name: str) -> Change:
    def change(found: dict[str, bytes]) -> dict[str, bytes]:
        data = found[name]
        return {**found, name: data[:-2] + bytes([data[-2] ^ 0x01]) + data[-1:]}

    return change


def _edit_manifest(found: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(found["manifest.json"])
    manifest["members"] = [m for m in manifest["members"] if m["name"] != "revocations.jsonl"]
    edited = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    return {**found, "manifest.json": edited}


def _swap_signed_payload(found: dict[str, bytes]) -> dict[str, bytes]:
    header, _, signature = found["manifest.jws"].decode().split(".")
    edited = _edit_manifest(found)["manifest.json"]
    token = f"{header}.{jws.b64url_encode(edited)}.{signature}"
    return {**found, "manifest.json": edited, "manifest.jws": token.encode()}


def _without(name: str) -> Change:
    return lambda found: {k: v for k, v in found.items() if k != name}


def _with_extra(found: dict[str, bytes]) -> dict[str, bytes]:
    return {**found, "lists/extra.9.crl": b"\x30\x00"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_flip_last_byte("certificates.pem"), "extract-digest-mismatch"),
        (_flip_last_byte("lists/issuing-oca.2.crl"), "extract-digest-mismatch"),
        (_edit_manifest, "extract-manifest-mismatch"),
        (_swap_signed_payload, "extract-bad-signature"),
        (_without("revocations.jsonl"), "extract-member-missing"),
        (_without("manifest.jws"), "extract-member-missing"),
        (_with_extra, "extract-member-unexpected"),
    ],
    ids=[
        "tampered-member",
        "tampered-list",
        "tampered-manifest",
        "tampered-signed-payload",
        "missing-member",
        "missing-signature",
        "extra-member",
    ],
)
def test_a_changed_archive_is_refused_with_its_code(
    pki: PkiHome, extract: Path, tmp_path: Path, change: Change, code: str
) -> None:
    changed = rewrite(extract, tmp_path / "changed.tar.gz", change)
    _check(pki, extract)  # the original still verifies: the change is what is refused
    with pytest.raises(IntegrityError) as refused:
        _check(pki, changed)
    assert refused.value.code == code
    assert refused.value.rid == "R-REP-6"


def test_a_wrong_trust_anchor_is_refused(pki: PkiHome, extract: Path) -> None:
    for anchor in (Pki.ORGANISATION.root, Pki.ORGANISATION.issuing, Pki.DCCKI.root):
        with pytest.raises(IntegrityError) as refused:
            _check(pki, extract, anchor)
        assert refused.value.code == "extract-untrusted"


def test_an_expired_signer_is_refused(pki: PkiHome, extract: Path) -> None:
    later = pki.clock.now() + dt.timedelta(days=3 * 365)
    with pytest.raises(IntegrityError) as refused:
        verify_extract(extract, [pki.ca_certificate(Pki.IKI.root)], now=later)
    assert refused.value.code == "extract-signer-expired"


def test_another_iki_holder_cannot_sign_an_extract(
    pki: PkiHome, extract: Path, tmp_path: Path
) -> None:
    """An ARO's credential chains to the same ICA, but it is not the file-signing one."""
    signer = pki.services.keystore.generate(KeyLabel("test-someone-else"))
    spki = spki_der(signer.public_key())
    with pki.services.store.transaction() as tx:
        ica = pki.load(tx, Pki.IKI.issuing)
    issued = issue_one(
        pki.services.store,
        pki.clock,
        pki.services.linter(ENV),
        ica.signing,
        CertificateFacts(CertKind.IKI, KeyUse.DIGITAL_SIGNATURE),
        partial(
            build.iki,
            ica.context,
            holder_subject("Alex Authorised", "Supplier One"),
            not_before=at(3),
            not_after=at(3) + dt.timedelta(days=30),
            key=SubjectKey(spki, key_id_for_spki(spki)),
        ),
        "test:extract",
    )
    impostor = FileSigner(signer, issued.der, der(ica.certificate), 0, issued.serial)

    def resign(found: dict[str, bytes]) -> dict[str, bytes]:
        token = sign_manifest(impostor, found["manifest.json"])
        return {**found, "manifest.jws": token.encode()}

    forged = rewrite(extract, tmp_path / "forged.tar.gz", resign)
    with pytest.raises(IntegrityError) as refused:
        _check(pki, forged)
    assert refused.value.code == "extract-signer-not-file-signing"


def test_what_is_not_an_extract_is_malformed(pki: PkiHome, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a gzip'd tar")
    with pytest.raises(MalformedInput) as refused:
        _check(pki, garbage)
    assert refused.value.code == "extract-malformed"


def test_members_keep_their_order_and_bytes(pki: PkiHome, extract: Path) -> None:
    found = members(extract)
    assert list(found)[:3] == ["manifest.json", "manifest.jws", "certificates.pem"]
    chain = json.loads(jws.b64url_decode(found["manifest.jws"].decode().split(".")[0]))["x5c"]
    assert x509.load_der_x509_certificate(jws.b64_der_decode(chain[1])) == pki.ca_certificate(
        Pki.IKI.issuing
    )
