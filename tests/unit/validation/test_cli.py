"""``smki verify`` through Typer's runner: exit statuses, text and ``--json`` (R-RP-3).

Exit 0 only for a certificate fit to rely on; 11 (docs/errors.md) with the reason code on
stderr for a refusal; 2 for files that cannot be used. The test PKI is written to files.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smki.cli.main import app
from tests.unit.validation.pki import AT, DEVICE_EUI, Hierarchies, hierarchies

AT_TEXT = AT.isoformat().replace("+00:00", "Z")


def pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


@dataclass(frozen=True)
class Files:
    folder: Path

    def __truediv__(self, name: str) -> str:
        return str(self.folder / name)


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def files(tmp_path: Path) -> Files:
    pki: Hierarchies = hierarchies()
    written = {
        "root-oca.pem": pem("CERTIFICATE", pki.root_oca.der),
        "issuing-oca.pem": pem("CERTIFICATE", pki.issuing_oca.der),
        "organisation.crl": pem("X509 CRL", pki.org_lists[0]),
        "organisation.arl": pem("X509 CRL", pki.org_lists[1]),
        "revoking.crl": pem("X509 CRL", pki.issuing_oca.crl([pki.org_ds_serial], number=2)),
        "org.der": pki.org_ds,
        "root-dca.pem": pem("CERTIFICATE", pki.root_dca.der),
        "issuing-dca.pem": pem("CERTIFICATE", pki.issuing_dca.der),
        "device.arl": pem("X509 CRL", pki.root_dca.crl()),
        "device-ds.pem": pem("CERTIFICATE", pki.device_ds),
    }
    for name, data in written.items():
        (tmp_path / name).write_bytes(data)
    return Files(tmp_path)


def smki(*args: str) -> Result:
    outcome = CliRunner().invoke(app, ["verify", *args], catch_exceptions=False)
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)


def _org_args(files: Files, *crls: str, at: str = AT_TEXT) -> list[str]:
    args = [files / "org.der", "--trust", files / "root-oca.pem", "--chain"]
    args += [files / "issuing-oca.pem", "--at", at]
    for crl in crls:
        args += ["--crl", files / crl]
    return args


def test_valid_exits_0(files: Files) -> None:
    result = smki(*_org_args(files, "organisation.crl", "organisation.arl"))
    assert result.exit_code == 0, result.stderr
    assert "VALID: OU=02, uniqueIdentifier=90B3D51F30010000" in result.stdout
    assert "trust anchor" in result.stdout and result.stderr == ""


def test_json_verdict(files: Files) -> None:
    result = smki(*_org_args(files, "organisation.crl", "organisation.arl"), "--json")
    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is True and verdict["reason"] is None and verdict["notes"] == []
    assert verdict["at"] == AT.isoformat()
    assert [entry["role"] for entry in verdict["path"]] == ["leaf", "intermediate", "trust anchor"]
    assert verdict["path"][2]["subject"] == "OU=00, CN=TZA"


def test_revoked_exits_11_with_the_reason(files: Files) -> None:
    result = smki(*_org_args(files, "revoking.crl", "organisation.arl"), "--json")
    assert result.exit_code == 11
    assert json.loads(result.stdout)["reason"] == "revoked"
    assert result.stderr.startswith("error: revoked: ")
    text = smki(*_org_args(files, "revoking.crl", "organisation.arl"))
    assert text.exit_code == 11 and "REFUSED (revoked)" in text.stdout


def test_no_crl_is_refused_unless_asked_and_then_said(files: Files) -> None:
    refused = smki(*_org_args(files))
    assert refused.exit_code == 11 and "error: crl-missing:" in refused.stderr
    accepted = smki(*_org_args(files), "--no-crl")
    assert accepted.exit_code == 0
    notes = [line for line in accepted.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2 and all("was not checked" in note for note in notes)
    as_json = json.loads(smki(*_org_args(files), "--no-crl", "--json").stdout)
    assert as_json["ok"] is True and len(as_json["notes"]) == 2


def test_device_and_usage(files: Files) -> None:
    base = [files / "device-ds.pem", "--trust", files / "root-dca.pem"]
    base += ["--chain", files / "issuing-dca.pem", "--crl", files / "device.arl"]
    base += ["--at", AT_TEXT]
    ok = smki(*base, "--device", DEVICE_EUI.hex(), "--usage", "ds")
    assert ok.exit_code == 0, ok.stderr
    assert "note: no Device CRL" in ok.stdout
    wrong_device = smki(*base, "--device", "00-DB-12-34-56-78-90-FF")
    assert wrong_device.exit_code == 11 and "error: wrong-device:" in wrong_device.stderr
    wrong_usage = smki(*base, "--usage", "ka")
    assert wrong_usage.exit_code == 11 and "error: wrong-usage:" in wrong_usage.stderr


def test_bad_files_and_options_exit_2(files: Files) -> None:
    crl_as_cert = smki(files / "organisation.crl", "--trust", files / "root-oca.pem")
    assert crl_as_cert.exit_code == 2
    assert "error: malformed:" in crl_as_cert.stderr and "holds a CRL" in crl_as_cert.stderr
    cert_as_crl = smki(*_org_args(files, "root-oca.pem"))
    assert cert_as_crl.exit_code == 2 and "holds a certificate, not a CRL" in cert_as_crl.stderr
    missing = smki(files / "absent.pem", "--trust", files / "root-oca.pem")
    assert missing.exit_code == 2 and "error: unreadable-file:" in missing.stderr
    bad_time = smki(*_org_args(files, at="yesterday"))
    assert bad_time.exit_code == 2 and "error: bad-option:" in bad_time.stderr
    bad_device = smki(*_org_args(files), "--device", "xyz")
    assert bad_device.exit_code == 2 and "error: bad-eui64:" in bad_device.stderr
    bad_usage = smki(*_org_args(files), "--usage", "signing")
    assert bad_usage.exit_code == 2
    no_trust = smki(files / "org.der")
    assert no_trust.exit_code == 2 and "--trust" in no_trust.stderr


def test_at_without_offset_is_utc(files: Files) -> None:
    naive = AT_TEXT.removesuffix("Z")
    result = smki(*_org_args(files, "organisation.crl", "organisation.arl", at=naive), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["at"] == AT.isoformat()
