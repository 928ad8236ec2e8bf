"""`smki ca revoke`: CRL and ARL reissued at once; openssl agrees (R-SI-4, R-REP-5)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509

from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import Smki, openssl_verify
from tests.integration.csr_factory import openssl_device_csr, organisation_csr


def _issue_organisation(ready: Smki, tmp_path: Path, name: str) -> tuple[Path, str]:
    csr = tmp_path / f"{name}.csr"
    csr.write_bytes(
        organisation_csr(RemotePartyRole.NETWORK_OPERATOR, bytes.fromhex("90B3D51F30020000"))
    )
    target = tmp_path / f"{name}.pem"
    ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(target))
    serial = f"{x509.load_pem_x509_certificate(target.read_bytes()).serial_number:X}"
    return target, serial


def _export(ready: Smki) -> Path:
    out = ready.home / "out"
    ready.ok("ca", "export", *ready.h, "--out", str(out))
    return out


def test_revoked_organisation_certificate_is_on_the_next_crl(ready: Smki, tmp_path: Path) -> None:
    target, serial = _issue_organisation(ready, tmp_path, "org")
    kept, _ = _issue_organisation(ready, tmp_path, "kept")
    printed = ready.ok("ca", "revoke", *ready.h, "--serial", serial, "--reason", "keyCompromise")
    assert "CRL number 2" in printed.stdout
    out = _export(ready)
    crl = x509.load_pem_x509_crl((out / "organisation.crl").read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    refused = openssl_verify(out, "organisation", target)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    accepted = openssl_verify(out, "organisation", kept)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    text = subprocess.run(
        ["openssl", "crl", "-in", str(out / "organisation.crl"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert serial in text.replace(":", "").upper()


def test_revoked_issuing_ca_is_on_the_arl(ready: Smki, tmp_path: Path) -> None:
    device = tmp_path / "device.pem"
    csr = openssl_device_csr(tmp_path, "00DB1234567890C1")
    ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(device))
    issuing = x509.load_pem_x509_certificate((ready.home / "out" / "issuing-dca.pem").read_bytes())
    ready.ok(
        "ca",
        "revoke",
        *ready.h,
        "--serial",
        f"{issuing.serial_number:X}",
        "--reason",
        "cACompromise",
    )
    out = _export(ready)
    arl = x509.load_pem_x509_crl((out / "device.arl").read_bytes())
    assert arl.get_revoked_certificate_by_serial_number(issuing.serial_number) is not None
    refused = openssl_verify(out, "device", device)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


def test_device_certificates_are_not_revoked(ready: Smki, tmp_path: Path) -> None:
    device = tmp_path / "device.pem"
    csr = openssl_device_csr(tmp_path, "00DB1234567890C2")
    ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(device))
    serial = f"{x509.load_pem_x509_certificate(device.read_bytes()).serial_number:X}"
    outcome = ready("ca", "revoke", *ready.h, "--serial", serial, "--reason", "keyCompromise")
    assert outcome.exit_code == 2
    assert "error: device-not-revocable:" in outcome.stderr


def test_revocation_refusals(ready: Smki, tmp_path: Path) -> None:
    _, serial = _issue_organisation(ready, tmp_path, "org")
    bad_reason = ready("ca", "revoke", *ready.h, "--serial", serial, "--reason", "unspecified")
    assert bad_reason.exit_code == 2 and "error: bad-reason:" in bad_reason.stderr
    unknown = ready("ca", "revoke", *ready.h, "--serial", "1234ABCD", "--reason", "superseded")
    assert unknown.exit_code == 3 and "error: unknown-certificate:" in unknown.stderr
    bad_serial = ready("ca", "revoke", *ready.h, "--serial", "xyz", "--reason", "superseded")
    assert bad_serial.exit_code == 2 and "error: bad-serial:" in bad_serial.stderr
    ready.ok("ca", "revoke", *ready.h, "--serial", serial, "--reason", "superseded")
    again = ready("ca", "revoke", *ready.h, "--serial", serial, "--reason", "superseded")
    assert again.exit_code == 4 and "error: already-revoked:" in again.stderr
    root = x509.load_pem_x509_certificate((ready.home / "out" / "root-oca.pem").read_bytes())
    anchor = ready(
        "ca", "revoke", *ready.h, "--serial", f"{root.serial_number:X}", "--reason", "cACompromise"
    )
    assert anchor.exit_code == 2 and "error: root-not-revocable:" in anchor.stderr
