"""Every refusal of R-SI-3 through the real server: its problem code, and nothing written —
no certificate, no pending intent, no audit event (R-SI-3, R-IKI-1, R-PART-2, R-PART-6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from smki.profiles.kinds import Environment
from smki.wiring import open_services
from tests.integration.api.support import (
    CERTIFICATES,
    PKCS10,
    Api,
    Subscriber,
    assert_problem,
    authorised_supplier,
    serving,
)
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.csr_factory import bad_csrs, device_csr, openssl_device_csr
from tests.integration.test_registration import supplier_with_aro

EUI = bytes.fromhex("00DB1234567890B1")
#: The R-SI-3 CSR refusals: case → (status, code).
CSR_REFUSALS = {
    "malformed-pem": (400, "malformed-csr"),
    "garbage-der": (400, "malformed-csr"),
    "bad-signature": (422, "bad-proof-of-possession"),
    "p384-key": (422, "wrong-curve"),
    "rsa-key": (422, "wrong-key-type"),
    "both-usages": (422, "key-usage-count"),
    "subject-on-device": (422, "device-subject-not-empty"),
}


def test_bad_csrs_are_refused_and_change_nothing(api: Api, supplier: Subscriber) -> None:
    cases = bad_csrs(EUI)
    before = api.counts()
    for case, (status, code) in CSR_REFUSALS.items():
        data, expected = cases[case]
        assert expected == code
        body = assert_problem(api.post_csr(supplier, data), status, code)
        assert body["detail"], case
    assert api.counts() == before


def test_exchange_refusals(api: Api, supplier: Subscriber) -> None:
    good = device_csr(EUI)
    before = api.counts()
    too_large = good + b"\n" * (64 * 1024)
    assert_problem(api.post_csr(supplier, too_large), 413, "too-large")
    assert_problem(
        api.post_csr(supplier, good, content_type="application/octet-stream"),
        415,
        "unsupported-media-type",
    )
    assert_problem(api.post_csr(supplier, good, accept="text/html"), 406, "not-acceptable")
    assert api.counts() == before


def test_token_refusals(api: Api, supplier: Subscriber) -> None:
    good = device_csr(EUI)
    before = api.counts()
    missing = api.post_csr(None, good)
    assert_problem(missing, 401, "token-missing")
    assert missing.headers["www-authenticate"] == "Bearer"
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert_problem(api.post_csr(supplier, good, now=an_hour_ago), 401, "token-expired")
    wrong_path = api.client.post(
        CERTIFICATES,
        content=good,
        headers={"Content-Type": PKCS10, **api.auth(supplier, "/smki/v1/revocations")},
    )
    assert_problem(wrong_path, 401, "token-audience")
    token = api.token(supplier, CERTIFICATES)
    headers = {"Content-Type": PKCS10, "Authorization": f"Bearer {token}"}
    assert api.client.post(CERTIFICATES, content=good, headers=headers).status_code == 201
    replayed = api.client.post(CERTIFICATES, content=device_csr(EUI), headers=headers)
    assert_problem(replayed, 401, "token-replayed")
    assert api.counts().certificates == before.certificates + 1


def test_a_refused_request_uses_its_token_up(api: Api, supplier: Subscriber) -> None:
    # Authentication only reads; the token's id is recorded with the request's first write,
    # or on its own when the request is refused before that (R-IKI-1): never reusable.
    before = api.counts()
    for refused_body, content_type, status, code in (
        (b"not a CSR", PKCS10, 400, "malformed-csr"),
        (device_csr(EUI), "text/plain", 415, "unsupported-media-type"),
    ):
        token = api.token(supplier, CERTIFICATES)
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
        first = api.client.post(CERTIFICATES, content=refused_body, headers=headers)
        assert_problem(first, status, code)
        headers["Content-Type"] = PKCS10
        again = api.client.post(CERTIFICATES, content=device_csr(EUI), headers=headers)
        assert_problem(again, 401, "token-replayed")
    assert api.counts().certificates == before.certificates


def test_party_no_longer_authorised(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    services = open_services(api.smki.home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            (sro,) = [o for o in tx.officers(supplier.party_id) if o.kind == "sro"]
    finally:
        services.close()
    api.smki.ok("officer", "remove", *api.smki.h, "--officer", str(sro.id))
    before = api.counts()
    csr = openssl_device_csr(tmp_path, "00DB1234567890B2").read_bytes()
    body = assert_problem(api.post_csr(supplier, csr), 403, "not-authorised-subscriber")
    assert body["rid"] == "R-PART-2"
    assert api.counts() == before


def test_live_needs_srept(server_env: Smki, tmp_path: Path) -> None:
    """A party that has not completed SREPT gets no Live certificate (R-PART-6)."""
    server_env.ok("init", *server_env.h, "--env", "live")
    credential = tmp_path / "live-aro"
    party_id, aro_id = supplier_with_aro(server_env, credential, env="live")
    live = Subscriber(credential, party_id, aro_id)
    csr = openssl_device_csr(tmp_path, "00DB1234567890B3").read_bytes()
    with serving(server_env.home, Environment.LIVE) as url, httpx.Client(base_url=url) as client:
        api = Api(server_env, client, env="live")
        assert client.get("/readyz").json()["environment"] == "live"
        before = api.counts()
        body = assert_problem(api.post_csr(live, csr), 403, "srept-not-completed")
        assert body["rid"] == "R-PART-6"
        assert api.counts() == before

        # A Test credential is no credential on Live.
        test_party = authorised_supplier(server_env, tmp_path / "test-aro", eui="90B3D51F30070000")
        assert_problem(api.post_csr(test_party, csr), 401, "token-untrusted")

        server_env.ok("party", "srept-passed", *server_env.h, "--party", str(party_id))
        assert api.post_csr(live, csr).status_code == 201
