"""The Service Interface keeps its issuing CAs loaded, and notices when the store changes one
(R-SI-1, R-CA-4): a changed row is loaded again before the next certificate is issued."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from cryptography import x509

from smki.api.app import open_runtime
from smki.api.certificates import issue_single
from smki.api.metrics import Metrics
from smki.profiles.kinds import Pki
from smki.ra.authentication import authenticate
from tests.integration.api.support import CERTIFICATES, Subscriber
from tests.integration.cli_support import Smki
from tests.integration.csr_factory import openssl_device_csr
from tests.integration.test_aro_authentication import hand_made_token


def test_a_changed_issuing_ca_row_is_loaded_again(
    server_env: Smki, supplier: Subscriber, tmp_path: Path
) -> None:
    rt = open_runtime(server_env.home, None, Metrics())
    try:

        def issue(eui: str) -> x509.Certificate:
            token = hand_made_token(supplier.credential, CERTIFICATES, dt.datetime.now(dt.UTC))
            store, clock = rt.services.store, rt.services.clock
            aro = authenticate(store, clock, rt.env, f"Bearer {token}", CERTIFICATES)
            csr = openssl_device_csr(tmp_path / eui, eui).read_bytes()
            issued, kind = asyncio.run(issue_single(rt, aro, csr))
            assert kind == "device"
            return x509.load_der_x509_certificate(issued.der)

        first = issue("00DB1234567890C1")
        cached = rt.authorities.get(rt.services, rt.env, Pki.DEVICE)
        assert issue("00DB1234567890C2").issuer == first.issuer
        assert rt.authorities.get(rt.services, rt.env, Pki.DEVICE) is cached  # kept

        # The store changes the Issuing DCA's row: the next request loads it afresh.
        with rt.services.store.transaction() as tx:
            assert tx.set_authority_status(cached.row.id, "suspended")
            tx.audit("test", "authority.status", f"authority:{cached.row.id}", {})
        third = issue("00DB1234567890C3")
        reloaded = rt.authorities.get(rt.services, rt.env, Pki.DEVICE)
        assert reloaded is not cached and reloaded.row.status == "suspended"
        assert third.issuer == first.issuer
        with rt.services.store.transaction() as tx:
            assert tx.set_authority_status(cached.row.id, "active")
            tx.audit("test", "authority.status", f"authority:{cached.row.id}", {})
    finally:
        rt.close()
