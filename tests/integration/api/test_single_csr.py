"""Single CSR through the real server (R-SI-1, R-PART-3, R-SI-3 duplicate request)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.x509.roles import RemotePartyRole
from tests.integration.api.support import (
    CERTIFICATES,
    DER,
    PEM,
    PKCS10,
    PROBLEM,
    Api,
    Subscriber,
    assert_problem,
)
from tests.integration.cli_support import openssl_verify
from tests.integration.csr_factory import openssl_device_csr, organisation_csr

PARTY_EUI = bytes.fromhex("90B3D51F30010000")


def _location(certificate: x509.Certificate) -> str:
    return f"/repository/v1/certificates/{certificate.serial_number:X}"


def test_device_certificate_pem_then_der(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    csr = openssl_device_csr(tmp_path, "00DB1234567890A1")
    before = api.counts()
    response = api.post_csr(supplier, csr.read_bytes())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == PEM
    certificate = x509.load_pem_x509_certificate(response.content)
    assert response.headers["location"] == _location(certificate)
    issued = tmp_path / "device.pem"
    issued.write_bytes(response.content)
    verified = openssl_verify(api.smki.home / "out", "device", issued)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    after = api.counts()
    assert after.certificates == before.certificates + 1
    assert after.pending_intents == 0

    # DER in, DER out.
    der_csr = x509.load_pem_x509_csr(
        openssl_device_csr(tmp_path, "00DB1234567890A2", "keyAgreement").read_bytes()
    ).public_bytes(Encoding.DER)
    response = api.post_csr(supplier, der_csr, accept=DER)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == DER
    certificate = x509.load_der_x509_certificate(response.content)
    assert response.headers["location"] == _location(certificate)
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_agreement


def test_duplicate_request_is_refused(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    pem = openssl_device_csr(tmp_path, "00DB1234567890A3").read_bytes()
    assert api.post_csr(supplier, pem).status_code == 201
    before = api.counts()
    # The same CSR, as PEM and as DER (same SHA-256 of its DER): both duplicates.
    body = assert_problem(api.post_csr(supplier, pem), 409, "duplicate-request")
    assert body["rid"] == "R-SI-3"
    der = x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER)
    assert_problem(api.post_csr(supplier, der), 409, "duplicate-request")
    assert api.counts() == before


def test_concurrent_duplicates_give_one_certificate(
    api: Api, supplier: Subscriber, tmp_path: Path
) -> None:
    pem = openssl_device_csr(tmp_path, "00DB1234567890A4").read_bytes()
    before = api.counts()
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: api.post_csr(supplier, pem), range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "duplicate-request")
    assert api.counts().certificates == before.certificates + 1


def test_organisation_certificate_and_eligibility(
    api: Api, supplier: Subscriber, tmp_path: Path
) -> None:
    response = api.post_csr(
        supplier, organisation_csr(RemotePartyRole.SUPPLIER, PARTY_EUI, common_name="Supplier One")
    )
    assert response.status_code == 201, response.text
    issued = tmp_path / "org.pem"
    issued.write_bytes(response.content)
    verified = openssl_verify(api.smki.home / "out", "organisation", issued)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    before = api.counts()
    other_eui = organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30020000"))
    body = assert_problem(api.post_csr(supplier, other_eui), 403, "entity-id-not-held")
    assert body["rid"] == "R-PART-3"
    other_role = organisation_csr(RemotePartyRole.NETWORK_OPERATOR, PARTY_EUI)
    assert_problem(api.post_csr(supplier, other_role), 403, "role-not-eligible")
    dcc_role = organisation_csr(RemotePartyRole.WAN_PROVIDER, PARTY_EUI)
    assert_problem(api.post_csr(supplier, dcc_role), 403, "role-not-eligible")
    assert api.counts() == before


def test_a_burst_of_requests_shares_commits_and_each_gets_its_own_answer(
    api: Api, supplier: Subscriber, tmp_path: Path
) -> None:
    """Requests arriving together join one group commit (storage/group_commit): refused ones
    (a duplicate CSR, a replayed token) take nothing of the others with them, and every
    certificate is its own CSR's, stored with its intent done and the audit log intact."""
    fresh = [
        openssl_device_csr(tmp_path / f"fresh{i}", f"00DB12345678B{i:03X}").read_bytes()
        for i in range(12)
    ]
    duplicate = openssl_device_csr(tmp_path / "dup", "00DB12345678BD00").read_bytes()
    replayed = openssl_device_csr(tmp_path / "replay", "00DB12345678BE00").read_bytes()
    token = api.auth(supplier, CERTIFICATES)
    before = api.counts()

    def send(job: tuple[str, bytes]) -> tuple[str, bytes, httpx.Response]:
        kind, csr = job
        if kind == "replayed":
            headers = {"Content-Type": PKCS10, **token}
            return kind, csr, api.client.post(CERTIFICATES, content=csr, headers=headers)
        return kind, csr, api.post_csr(supplier, csr)

    jobs = [("fresh", csr) for csr in fresh] + [("duplicate", duplicate)] * 3
    jobs += [("replayed", replayed)] * 3
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(send, jobs))

    for kind, csr, response in answers:
        if kind == "fresh":
            assert response.status_code == 201, response.text
            certificate = x509.load_pem_x509_certificate(response.content)
            assert certificate.public_key() == x509.load_pem_x509_csr(csr).public_key()
    duplicates = sorted(r.status_code for kind, _, r in answers if kind == "duplicate")
    assert duplicates == [201, 409, 409]
    replays = [r for kind, _, r in answers if kind == "replayed"]
    assert sorted(r.status_code for r in replays) == [201, 401, 401]
    for refused in (r for r in replays if r.status_code == 401):
        assert_problem(refused, 401, "token-replayed")
    after = api.counts()
    assert after.certificates == before.certificates + len(fresh) + 2
    assert after.pending_intents == 0
    assert "audit log intact" in api.smki.ok("audit", "verify", *api.smki.h).stdout


def test_the_fast_path_answers_as_the_route_does(
    api: Api, supplier: Subscriber, tmp_path: Path
) -> None:
    """``fast_certificates`` takes POST /smki/v1/certificates without a query; with one, the
    FastAPI route answers. Both give the same answers, refusals and issuance alike."""

    def both(make: Callable[[str], httpx.Response]) -> tuple[httpx.Response, httpx.Response]:
        return make(CERTIFICATES), make(CERTIFICATES + "?via=route")

    def post(csr: bytes, **headers: str) -> Callable[[str], httpx.Response]:
        def send(url: str) -> httpx.Response:
            sent = {"Content-Type": PKCS10, **api.auth(supplier, CERTIFICATES), **headers}
            return api.client.post(url, content=csr, headers=sent)

        return send

    def unsigned(url: str) -> httpx.Response:
        return api.client.post(url, content=b"x", headers={"Content-Type": PKCS10})

    good = [
        openssl_device_csr(tmp_path / f"same{i}", f"00DB12345678C{i:03X}").read_bytes()
        for i in range(2)
    ]
    cases = [
        both(unsigned),
        both(post(good[0], **{"Content-Type": "text/plain"})),
        both(post(good[0], Accept="text/html")),
        both(post(b"not a CSR")),
        both(post(b"x" * (65 * 1024))),
    ]
    for fast, routed in cases:
        assert fast.status_code == routed.status_code
        assert fast.headers["content-type"] == routed.headers["content-type"] == PROBLEM
        assert fast.headers.get("www-authenticate") == routed.headers.get("www-authenticate")
        assert fast.json() == routed.json()
    fast = post(good[0])(CERTIFICATES)
    routed = post(good[1])(CERTIFICATES + "?via=route")
    for response, csr in ((fast, good[0]), (routed, good[1])):
        assert response.status_code == 201, response.text
        certificate = x509.load_pem_x509_certificate(response.content)
        assert certificate.public_key() == x509.load_pem_x509_csr(csr).public_key()
        assert response.headers["location"] == _location(certificate)
    drop = {"x-request-id", "location", "content-length", "date"}
    assert {k: v for k, v in fast.headers.items() if k not in drop} == {
        k: v for k, v in routed.headers.items() if k not in drop
    }
    # The same CSR again, by either path: the same duplicate refusal.
    again = both(post(good[0]))
    assert again[0].json() == again[1].json()
    assert again[0].json()["code"] == "duplicate-request"
