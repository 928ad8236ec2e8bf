"""SIGKILL during `smki ca issue` leaves no certificate or a complete one (R-CA-4, R-X-1).

The process is killed at each named step of the issuance cycle (``SMKI_FAILPOINT``), as a
power cut would; afterwards the store holds either nothing for that request or the whole
certificate, the audit chain verifies, and `smki ca recover` settles the pending intent.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cryptography import x509

from smki.wiring import open_services
from tests.integration.cli_support import Smki
from tests.integration.csr_factory import openssl_device_csr


def _state(smki: Smki) -> tuple[int, int]:
    services = open_services(smki.home)
    try:
        with services.store.transaction() as tx:
            return tx.count_certificates(), len(tx.pending_intents())
    finally:
        services.close()


@pytest.mark.parametrize(
    ("failpoint", "stored", "settled"),
    [
        ("issue.after-intent", 0, "0 finished, 1 abandoned"),
        ("issue.after-sign", 0, "0 finished, 1 abandoned"),
        ("issue.after-store", 1, "0 finished, 0 abandoned"),
    ],
)
def test_sigkill_during_issue(
    ready: Smki, tmp_path: Path, failpoint: str, stored: int, settled: str
) -> None:
    csr = openssl_device_csr(tmp_path, "00DB1234567890D1")
    before, _ = _state(ready)
    killed = ready.subprocess(
        "ca", "issue", *ready.h, "--csr", str(csr), extra_env={"SMKI_FAILPOINT": failpoint}
    )
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == b""
    after, pending = _state(ready)
    assert after == before + stored
    assert pending == (1 - stored)
    verify = ready.subprocess("audit", "verify", *ready.h)
    assert verify.returncode == 0, verify.stderr
    recovered = ready.ok("ca", "recover", *ready.h, "--now")
    assert settled in recovered.stdout
    assert _state(ready) == (before + stored, 0)
    if stored:
        services = open_services(ready.home)
        try:
            with services.store.transaction() as tx:
                newest = tx.certificate(max(range(1, after + 1)))
        finally:
            services.close()
        x509.load_der_x509_certificate(newest.der)  # complete and parseable
    again = ready.subprocess("ca", "issue", *ready.h, "--csr", str(csr))
    assert again.returncode == 0, again.stderr
