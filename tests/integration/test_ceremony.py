"""`smki init`, `smki ca export` and `smki ca issue` end to end (R-CA-1, R-CA-2, R-PROF-40).

Every certificate the ceremony and direct issuance produce passes ``openssl verify`` with
``-crl_check_all`` against the exported chain and lists, and lints clean (GBCS + pkilint).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.lint import errors_only, lint_certificate, lint_crl
from smki.lint.finding import CertKind
from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import Smki, openssl_verify
from tests.integration.csr_factory import openssl_device_csr, organisation_csr

CA_FILES = [
    f"{level}-{ca}.pem" for ca in ("oca", "dca", "ica", "dccki") for level in ("root", "issuing")
]
LIST_FILES = [
    f"{pki}.{kind}" for pki in ("organisation", "device", "iki", "dccki") for kind in ("crl", "arl")
]


def test_export_writes_every_ca_certificate_and_list(ready: Smki) -> None:
    out = ready.home / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(CA_FILES + LIST_FILES)


def test_ca_certificates_verify_and_lint_clean(ready: Smki) -> None:
    out = ready.home / "out"
    for pki, ca in (("organisation", "oca"), ("device", "dca"), ("iki", "ica"), ("dccki", "dccki")):
        result = openssl_verify(out, pki, out / f"issuing-{ca}.pem")
        assert result.returncode == 0, result.stdout + result.stderr
        for level, kind in (("root", CertKind.ROOT_CA), ("issuing", CertKind.ISSUING_CA)):
            der = x509.load_pem_x509_certificate((out / f"{level}-{ca}.pem").read_bytes())
            findings = errors_only(lint_certificate(der.public_bytes(Encoding.DER), kind=kind))
            assert findings == [], f"{level}-{ca}: {findings}"


def test_crls_and_arls_lint_clean(ready: Smki) -> None:
    out = ready.home / "out"
    for name in LIST_FILES:
        crl = x509.load_pem_x509_crl((out / name).read_bytes())
        assert crl.next_update_utc is not None
        assert errors_only(lint_crl(crl.public_bytes(Encoding.DER))) == [], name


def test_openssl_device_csr_is_issued_and_verifies(ready: Smki, tmp_path: Path) -> None:
    for usage in ("digitalSignature", "keyAgreement"):
        csr = openssl_device_csr(tmp_path, "00DB1234567890A1", usage)
        target = tmp_path / f"device-{usage}.pem"
        ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(target))
        result = openssl_verify(ready.home / "out", "device", target)
        assert result.returncode == 0, result.stdout + result.stderr
        certificate = x509.load_pem_x509_certificate(target.read_bytes())
        assert (
            errors_only(
                lint_certificate(
                    certificate.public_bytes(Encoding.DER), kind=CertKind.DEVICE, strict_serial=True
                )
            )
            == []
        )
        assert certificate.subject == x509.Name([])
        assert certificate.not_valid_after_utc.year == 9999


def test_organisation_csr_is_issued_and_verifies(ready: Smki, tmp_path: Path) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(
        organisation_csr(
            RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30010000"), common_name="SUPPLIER ONE"
        )
    )
    pem = ready.ok("ca", "issue", *ready.h, "--csr", str(csr)).stdout
    target = tmp_path / "org.pem"
    target.write_text(pem)
    result = openssl_verify(ready.home / "out", "organisation", target)
    assert result.returncode == 0, result.stdout + result.stderr
    certificate = x509.load_pem_x509_certificate(target.read_bytes())
    assert (
        errors_only(
            lint_certificate(
                certificate.public_bytes(Encoding.DER),
                kind=CertKind.ORGANISATION,
                strict_serial=True,
            )
        )
        == []
    )


def test_recovery_certificate_has_role_01_and_verifies(smki: Smki, tmp_path: Path) -> None:
    printed = smki.ok("init", *smki.h, "--env", "test").stdout
    smki.ok("ca", "export", *smki.h, "--out", str(smki.home / "out"))
    serial = next(
        line.split()[-1] for line in printed.splitlines() if line.strip().startswith("recovery")
    )
    services = open_services(smki.home)
    try:
        with services.store.transaction() as tx:
            (row,) = tx.certificate_by_serial("test", int(serial, 16))
    finally:
        services.close()
    assert row.role == RemotePartyRole.RECOVERY
    certificate = x509.load_der_x509_certificate(row.der)
    assert (
        certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
        == "01"
    )
    target = tmp_path / "recovery.pem"
    target.write_bytes(certificate.public_bytes(Encoding.PEM))
    result = openssl_verify(smki.home / "out", "organisation", target)
    assert result.returncode == 0, result.stdout + result.stderr


def test_second_init_is_refused_and_changes_nothing(ready: Smki) -> None:
    before = _snapshot(ready.home)
    outcome = ready("init", *ready.h, "--env", "test")
    assert outcome.exit_code == 4
    assert "already-initialised" in outcome.stderr
    assert _snapshot(ready.home) == before


def test_missing_passphrase_writes_nothing(smki: Smki) -> None:
    outcome = smki("init", *smki.h, "--env", "test", extra_env={"SMKI_KEY_PASSPHRASE": ""})
    assert outcome.exit_code == 6
    assert "missing-passphrase" in outcome.stderr
    assert not smki.home.exists()


def _snapshot(home: Path) -> dict[str, bytes]:
    keys = home / "keys"
    return {p.name: p.read_bytes() for p in sorted(keys.iterdir())} | {
        "smki.yaml": (home / "smki.yaml").read_bytes()
    }


def test_openssl_reads_the_exported_crl(ready: Smki) -> None:
    result = subprocess.run(
        ["openssl", "crl", "-in", str(ready.home / "out" / "organisation.crl"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "X509v3 CRL Number" in result.stdout
    assert "No Revoked Certificates" in result.stdout
