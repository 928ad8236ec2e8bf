"""``smki client`` against a real server (R-SI-5): single CSRs, a batch, revocation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography import x509

from smki.x509.roles import RemotePartyRole
from tests.integration.api.support import Api, Subscriber
from tests.integration.cli_support import openssl_verify
from tests.integration.csr_factory import device_csr, openssl_device_csr, organisation_csr


def _client(api: Api, supplier: Subscriber, *args: str) -> tuple[int, str, str]:
    outcome = api.smki(
        "client", "--url", str(api.client.base_url), "--credential", str(supplier.credential), *args
    )
    return outcome.exit_code, outcome.stdout, outcome.stderr


def test_submit_verifies_with_openssl(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    csr = openssl_device_csr(tmp_path, "00DB1234567890F1")
    code, out, err = _client(api, supplier, "submit", str(csr))
    assert code == 0, err
    target = tmp_path / "device.pem"
    target.write_text(out)
    api.smki.ok("ca", "export", *api.smki.h, "--out", str(api.smki.home / "out"))
    verified = openssl_verify(api.smki.home / "out", "device", target)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    again = _client(api, supplier, "submit", str(csr))
    assert again[0] == 4 and "error: duplicate-request:" in again[2]


def test_batch_round_trip(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    euis = [bytes.fromhex(f"00DB12345679{i:04X}") for i in range(5)]
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(device_csr(eui) for eui in euis))
    code, out, err = _client(api, supplier, "submit-batch", str(bundle))
    assert code == 0, err
    assert "done, 5 issued, 0 refused" in out
    found = re.search(r"batch (\S+): done", out)
    assert found is not None, out
    batch_id = found.group(1)
    status = _client(api, supplier, "batch-status", batch_id)
    assert status[0] == 0, status[2]
    assert json.loads(status[1])["state"] == "done"
    fetched = tmp_path / "certificates.pem"
    code, out, err = _client(api, supplier, "fetch-batch", batch_id, "--out", str(fetched))
    assert code == 0, err
    certificates = x509.load_pem_x509_certificates(fetched.read_bytes())
    hw = [
        c.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value.get_values_for_type(x509.OtherName)[0]
        .value[-8:]
        for c in certificates
    ]
    assert hw == euis


def test_revoke_through_the_client(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30010000")))
    code, out, err = _client(api, supplier, "submit", str(csr))
    assert code == 0, err
    serial = f"{x509.load_pem_x509_certificate(out.encode()).serial_number:X}"
    code, out, err = _client(api, supplier, "revoke", serial, "--reason", "superseded")
    assert code == 0, err
    refused = _client(api, supplier, "revoke", serial, "--reason", "superseded")
    assert refused[0] == 4 and "already-revoked" in refused[2]
