"""The repository's file-signing credential (R-REP-6, R-PROF-33, R-PROF-40, R-CA-3)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from smki.ids import KeyLabel
from smki.keystore.base import KeyStore
from smki.lint import errors_only, lint_certificate
from smki.lint.finding import CertKind as LintKind
from smki.profiles.kinds import Pki
from smki.repository.extract_verify import verify_extract
from smki.repository.file_signing import META_KEY
from tests.integration.extracts.support import ENV, PkiHome, at, open_pki_home


def _audit_actions(pki: PkiHome) -> list[str]:
    return [event.action for event in pki.services.store.audit_events()]


def _crl_file(pki: PkiHome, folder: Path, name: str) -> Path:
    with pki.services.store.reading() as tx:
        authority = tx.authority(ENV, name)
        assert authority is not None
        row = tx.latest_crl(authority.id, "arl" if authority.is_root else "crl")
        assert row is not None
    path = folder / f"{name}.crl.pem"
    path.write_bytes(x509.load_der_x509_crl(row.der).public_bytes(Encoding.PEM))
    return path


def test_issued_by_the_ica_lints_clean_and_verifies_with_openssl(
    pki: PkiHome, tmp_path: Path
) -> None:
    pki.clock.set(at(1))
    signer = pki.signer()
    certificate = x509.load_der_x509_certificate(signer.certificate)
    # R-PROF-33: the DCC organisation, a CN that says what it is for, digitalSignature only.
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "DCC"
    assert (
        certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        == "SMKI Repository file signing"
    )
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert signer.ica == pki.ca_certificate(Pki.IKI.issuing).public_bytes(Encoding.DER)
    # R-PROF-40: the same linter the CA runs before signing, on the signed certificate.
    assert errors_only(lint_certificate(signer.certificate, kind=LintKind.IKI)) == []
    files = {
        "root": pki.ca_certificate(Pki.IKI.root),
        "issuing": pki.ca_certificate(Pki.IKI.issuing),
        "leaf": certificate,
    }
    for name, cert in files.items():
        (tmp_path / f"{name}.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-attime",  # the fixed clock's hour: the lists' nextUpdate is a day later
            str(int(at(1).timestamp())),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "issuing.pem"),
            "-crl_check_all",
            "-CRLfile",
            str(_crl_file(pki, tmp_path, Pki.IKI.issuing)),
            "-CRLfile",
            str(_crl_file(pki, tmp_path, Pki.IKI.root)),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_issued_once_through_the_cycle_and_found_again(pki: PkiHome) -> None:
    pki.clock.set(at(1))
    first = pki.signer()
    actions = _audit_actions(pki)
    # The issuance cycle's own events, then the credential's (R-CA-4, R-X-1).
    assert actions[-3:] == [
        "issuance.intent",
        "certificate.issued",
        "repository.file-signing-credential",
    ]
    with pki.services.store.reading() as tx:
        record = json.loads(tx.get_meta(META_KEY.format(env=ENV)) or "{}")
        row = tx.certificate(first.certificate_id)
    assert record["certificate_id"] == first.certificate_id
    assert pki.services.keystore.exists(KeyLabel(record["key_label"]))
    assert row.kind == "iki" and row.der == first.certificate
    pki.clock.set(at(2))
    again = pki.signer()
    assert again.certificate_id == first.certificate_id
    assert again.certificate == first.certificate
    assert _audit_actions(pki) == actions  # nothing issued, nothing recorded


def test_replaced_under_a_new_key_once_revoked(pki: PkiHome) -> None:
    pki.clock.set(at(1))
    first = pki.signer()
    pki.clock.set(at(2))
    pki.revoke(first.serial, "superseded")
    pki.clock.set(at(3))
    second = pki.signer()
    assert second.certificate_id != first.certificate_id
    assert second.signer.label != first.signer.label
    assert second.signer.public_key().public_numbers() != first.signer.public_key().public_numbers()


@pytest.fixture
def pki_on_each_keystore(tmp_path: Path, keystore: KeyStore) -> Iterator[PkiHome]:
    """SQLite, with the key store of each kind: encrypted files and SoftHSM2 (R-CA-3)."""
    yield from open_pki_home(
        tmp_path / "home", f"sqlite:///{tmp_path / 'smki.db'}", keystore=keystore
    )


def test_key_lives_in_either_key_store_and_signs_extracts(
    pki_on_each_keystore: PkiHome, tmp_path: Path
) -> None:
    pki = pki_on_each_keystore
    pki.clock.set(at(1))
    manifest = pki.extract(tmp_path / "full.tar.gz")
    verified = verify_extract(
        tmp_path / "full.tar.gz", [pki.ca_certificate(Pki.IKI.root)], now=pki.clock.now()
    )
    assert verified.manifest == manifest
    assert pki.services.keystore.exists(pki.signer().signer.label)
