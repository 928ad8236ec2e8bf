"""``smki lint``: exit 0 when clean, 1 on error findings, 2 on malformed input (R-PROF-40)."""

from __future__ import annotations

import base64
from pathlib import Path

import typer
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from smki.cli.lint_cmd import lint
from tests.unit.lint import builders as b


def app() -> typer.Typer:
    # A throwaway app: the real one (smki.cli.main) registers lint the same way.
    application = typer.Typer()
    application.command("lint")(lint)

    @application.callback()
    def main() -> None:
        """Keep ``lint`` a subcommand."""

    return application


def pem(label: str, data: bytes) -> bytes:
    body = base64.encodebytes(data).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app(), ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def test_clean_certificate_and_crl_exit_0(tmp_path: Path) -> None:
    certificate = tmp_path / "device.der"
    certificate.write_bytes(b.build("device"))
    crl = tmp_path / "org.crl"
    crl.write_bytes(pem("X509 CRL", b.crl()))
    status, out, err = run(str(certificate), str(crl))
    assert status == 0, out + err
    assert "clean" in out and "2 document(s)" in out


def test_error_finding_exits_1_and_is_printed(tmp_path: Path) -> None:
    bad = b.issue(b.spec("organisation").drop_extension(b.ski(b.SUBJECT_KEY).oid))
    path = tmp_path / "org.pem"
    path.write_bytes(pem("CERTIFICATE", bad))
    status, out, _ = run(str(path))
    assert status == 1
    assert "gbcs.ski_present" in out and "R-PROF-2" in out and "error" in out


def test_each_pem_block_is_linted(tmp_path: Path) -> None:
    bad = b.issue(b.spec("organisation").drop_extension(b.ski(b.SUBJECT_KEY).oid))
    path = tmp_path / "bundle.pem"
    path.write_bytes(pem("CERTIFICATE", b.build("device")) + pem("CERTIFICATE", bad))
    status, out, _ = run(str(path))
    assert status == 1
    assert "[block 1]: clean" in out and "[block 2]" in out and "gbcs.ski_present" in out


def test_warning_only_exits_0(tmp_path: Path) -> None:
    # A DCCKI TLS certificate without SKI: no GBCS rule applies (R-PROF-34), pkilint warns.
    certificate = b.issue(b.dccki_spec().drop_extension(b.ski(b.SUBJECT_KEY).oid))
    path = tmp_path / "tls.der"
    path.write_bytes(certificate)
    status, out, _ = run("--kind", "dccki-tls", str(path))
    assert status == 0, out
    assert "warning" in out and "pkilint.pkix.certificate_skid_end_entity_missing" in out


def test_kind_option(tmp_path: Path) -> None:
    path = tmp_path / "device.der"
    path.write_bytes(b.build("device"))
    status, out, _ = run("--kind", "organisation", str(path))
    assert status == 1 and "gbcs.org_subject" in out


def test_malformed_input_exits_2_with_a_message(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(
        b.SUBJECT_KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x01\x02\x03")
    missing = tmp_path / "missing.pem"
    status, _, err = run(str(key), str(garbage), str(missing))
    assert status == 2
    assert f"{key}: holds a private key" in err
    assert f"{garbage}: neither PEM nor DER" in err
    assert f"{missing}: cannot read the file" in err
