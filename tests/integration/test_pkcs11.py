"""The ceremony and issuance with keys in a PKCS#11 token (SoftHSM2) (R-CA-3)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.keystores import SoftHsmToken
from tests.integration.cli_support import Smki, make_smki, openssl_verify
from tests.integration.csr_factory import openssl_device_csr


def test_init_and_issue_on_softhsm(
    tmp_path: Path, database_url: str, softhsm_token: SoftHsmToken
) -> None:
    smki: Smki = make_smki(tmp_path, database_url, SMKI_PKCS11_PIN=softhsm_token.pin)
    smki.ok(
        "init",
        *smki.h,
        "--env",
        "test",
        "--keystore",
        "pkcs11",
        "--pkcs11-module",
        softhsm_token.module,
        "--pkcs11-token",
        softhsm_token.label,
    )
    assert not (smki.home / "keys").exists()
    out = smki.home / "out"
    smki.ok("ca", "export", *smki.h, "--out", str(out))
    csr = openssl_device_csr(tmp_path, "00DB1234567890E1")
    target = tmp_path / "device.pem"
    smki.ok("ca", "issue", *smki.h, "--csr", str(csr), "--out", str(target))
    result = openssl_verify(out, "device", target)
    assert result.returncode == 0, result.stdout + result.stderr
    wrong_pin = smki(
        "ca", "issue", *smki.h, "--csr", str(csr), extra_env={"SMKI_PKCS11_PIN": "0000"}
    )
    assert wrong_pin.exit_code == 6, wrong_pin.stderr


def test_pkcs11_init_needs_module_and_token(smki: Smki) -> None:
    outcome = smki("init", *smki.h, "--env", "test", "--keystore", "pkcs11")
    assert outcome.exit_code == 2
    assert "error: bad-option:" in outcome.stderr
    assert not smki.home.exists()
