"""Revocation requests by the subscriber's ARO through the real server (R-SI-4)."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509

from smki.x509.roles import RemotePartyRole
from tests.integration.api.support import (
    REVOCATIONS,
    Api,
    Subscriber,
    assert_problem,
    authorised_supplier,
)
from tests.integration.cli_support import openssl_verify
from tests.integration.csr_factory import openssl_device_csr, organisation_csr

PARTY_EUI = bytes.fromhex("90B3D51F30010000")
OTHER_EUI = "90B3D51F30030000"


def _issue(api: Api, who: Subscriber, csr: bytes, target: Path) -> str:
    response = api.post_csr(who, csr)
    assert response.status_code == 201, response.text
    target.write_bytes(response.content)
    return f"{x509.load_pem_x509_certificate(response.content).serial_number:X}"


def test_own_organisation_certificate_is_revoked_on_the_next_crl(
    api: Api, supplier: Subscriber, tmp_path: Path
) -> None:
    issued = tmp_path / "org.pem"
    serial = _issue(api, supplier, organisation_csr(RemotePartyRole.SUPPLIER, PARTY_EUI), issued)
    response = api.revoke(supplier, serial, "keyCompromise")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["serial"] == serial and answer["status"] == "revoked"
    assert answer["reason"] == "keyCompromise" and answer["crl_number"] == 2

    out = tmp_path / "out"
    api.smki.ok("ca", "export", *api.smki.h, "--out", str(out))
    crl = x509.load_pem_x509_crl((out / "organisation.crl").read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    refused = openssl_verify(out, "organisation", issued)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr

    assert_problem(api.revoke(supplier, serial, "superseded"), 409, "already-revoked")


def test_revocation_refusals(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    other = authorised_supplier(api.smki, tmp_path / "other-aro", eui=OTHER_EUI)
    theirs = _issue(
        api,
        other,
        organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex(OTHER_EUI)),
        tmp_path / "theirs.pem",
    )
    device = _issue(
        api,
        supplier,
        openssl_device_csr(tmp_path, "00DB1234567890C1").read_bytes(),
        tmp_path / "device.pem",
    )
    ours = _issue(
        api, supplier, organisation_csr(RemotePartyRole.SUPPLIER, PARTY_EUI), tmp_path / "o.pem"
    )
    aro_credential = x509.load_pem_x509_certificate((supplier.credential / "aro.pem").read_bytes())
    before = api.counts()

    body = assert_problem(
        api.revoke(supplier, theirs, "keyCompromise"), 403, "not-certificate-subscriber"
    )
    assert body["rid"] == "R-SI-4"
    assert_problem(api.revoke(supplier, device, "keyCompromise"), 422, "device-not-revocable")
    assert_problem(
        api.revoke(supplier, f"{aro_credential.serial_number:X}", "keyCompromise"),
        403,
        "not-organisation-certificate",
    )
    assert_problem(api.revoke(supplier, "7" * 32, "keyCompromise"), 404, "unknown-certificate")
    assert_problem(api.revoke(supplier, ours, "cACompromise"), 422, "bad-reason")
    assert_problem(api.revoke(supplier, "not-hex", "superseded"), 400, "bad-serial")
    malformed = api.client.post(
        REVOCATIONS,
        content=json.dumps({"serial": ours}).encode(),
        headers={"Content-Type": "application/json", **api.auth(supplier, REVOCATIONS)},
    )
    assert_problem(malformed, 400, "malformed-request")
    assert api.counts() == before

    # The other party's ARO may revoke its own.
    assert api.revoke(other, theirs, "cessationOfOperation").status_code == 200
