"""The batched Device issuance engine on the signing pool (R-SI-2, R-CA-4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smki.ca.issuer import Issued
from smki.ca.pool import SigningPool
from smki.profiles.kinds import Environment, Pki
from smki.ra.device_batch import DeviceBatchIssuer, Refused
from smki.wiring import open_services
from smki.x509.keys import spki_der
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.csr_factory import bad_csrs, device_csr


def test_batch_issues_in_input_order_with_per_csr_refusals(ready: Smki, tmp_path: Path) -> None:
    euis = [bytes.fromhex(f"00DB12345678{i:04X}") for i in range(40)]
    csrs = [device_csr(eui, ds=i % 2 == 0, ka=i % 2 == 1) for i, eui in enumerate(euis)]
    bad = bad_csrs(bytes.fromhex("00DB1234567FFFFF"))
    csrs[7] = bad["bad-signature"][0]
    csrs[21] = bad["p384-key"][0]
    services = open_services(ready.home, secret=PASSPHRASE.encode())
    try:
        loaded = services.issuing_authority(Environment.TEST, Pki.DEVICE)
        with SigningPool(
            services.keystore_spec(),
            loaded.row.key_label,
            spki_der(loaded.signing.public_key),
            processes=2,
        ) as pool:
            outcome = DeviceBatchIssuer(
                services.store,
                services.clock,
                pool,
                loaded.signing,
                loaded.context,
                services.linter(Environment.TEST),
                services.actor,
                chunk=8,
            ).run(csrs, label="test")
        with services.store.transaction() as tx:
            pending = tx.pending_intents()
    finally:
        services.close()
    assert pending == []
    assert outcome.issued == 38 and outcome.refused == 2
    assert isinstance(outcome.results[7], Refused)
    assert outcome.results[7].code == "bad-proof-of-possession"
    assert isinstance(outcome.results[21], Refused) and outcome.results[21].code == "wrong-curve"
    bundle = tmp_path / "bundle.pem"
    chain_ok: list[Path] = []
    for index, (csr, result) in enumerate(zip(csrs, outcome.results, strict=True)):
        if index in (7, 21):
            continue
        assert isinstance(result, Issued)
        certificate = x509.load_der_x509_certificate(result.der)
        request = x509.load_pem_x509_csr(csr)
        assert certificate.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        ) == request.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        other = san.get_values_for_type(x509.OtherName)[0]
        assert other.value.endswith(euis[index])
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature == (index % 2 == 0)
        if index < 3:
            path = tmp_path / f"{index}.pem"
            path.write_bytes(certificate.public_bytes(Encoding.PEM))
            chain_ok.append(path)
    out = ready.home / "out"
    for path in chain_ok:
        verified = subprocess.run(
            [
                "openssl",
                "verify",
                "-CAfile",
                str(out / "root-dca.pem"),
                "-untrusted",
                str(out / "issuing-dca.pem"),
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not bundle.exists()
