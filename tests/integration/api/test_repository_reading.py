"""Reading the SMKI Repository over HTTP through a real server (R-REP-1..5, R-DOC-1/2).

These tests only read (and sign in), so they share one repository per database for the whole
module: ``repository_shelf.shelf`` (what it holds is described there).
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.repository.search import encode_cursor
from tests.integration.api.repository_shelf import (
    DEVICE,
    DEVICE_A,
    DEVICE_B,
    ORG,
    SUPPLIER_EUI,
    Shelf,
    shelf,
)
from tests.integration.api.repository_support import CERTIFICATES, DOCUMENTS, LISTS, audit_events
from tests.integration.api.support import DER, PEM, assert_problem

__all__ = ["shelf"]  # the module's fixture


# -- search (R-REP-2) ---------------------------------------------------------------------------


def test_search_by_eui_role_usage_status_issuer_and_kind(shelf: Shelf) -> None:
    # The EUI-64 of an organisation (its certificates' subject uniqueIdentifier) ...
    organisation = shelf.where(eui=SUPPLIER_EUI)
    assert len(organisation) == 4
    assert shelf.serials(eui=SUPPLIER_EUI) == organisation
    assert shelf.serials(eui=SUPPLIER_EUI.lower()) == organisation
    # ... and of a device (its certificates' HardwareModuleName hwSerialNum).
    assert (
        shelf.serials(eui=DEVICE_A)
        == shelf.where(eui=DEVICE_A)
        == shelf.named("device-ds", "device-ka")
    )
    # The init's Recovery certificate (role 01) is the only other Organisation Certificate.
    assert shelf.serials(role="02") == shelf.serials(role="supplier") == organisation
    assert shelf.serials(eui=DEVICE_A, usage="ka") == shelf.named("device-ka")
    assert shelf.serials(eui=SUPPLIER_EUI, usage="ka") == shelf.named("org-ka")
    assert shelf.serials(usage="ka") == shelf.where(usage="ka")
    # Status is derived: revoked, then suspended, then expired, else in use.
    for status in ("revoked", "suspended", "expired"):
        assert shelf.serials(status=status) == shelf.where(status=status), status
    in_use = shelf.serials(status="in-use")  # also the CA, IKI and Recovery certificates
    assert in_use & shelf.where() == shelf.where(status="in-use")
    assert shelf.serials(status="in-use", eui=SUPPLIER_EUI) == shelf.named("org-ds", "org-ka")
    devices = shelf.where(kind=DEVICE)
    assert shelf.serials(issuer="issuing-dca") == shelf.serials(kind=DEVICE) == devices
    assert shelf.serials(issuer="issuing-dca", status="in-use") == shelf.named(
        "device-ds", "device-ka"
    )
    assert shelf.serials(serial=shelf.issued["org-ka"].hex) == shelf.named("org-ka")
    assert shelf.serials(serial="7" * 40) == set()  # wider than any stored serial

    (view,) = shelf.get(CERTIFICATES, eui=SUPPLIER_EUI, status="revoked").json()["items"]
    assert view["revocation_reason"] == "keyCompromise" and view["revoked_at"]
    assert view["role"] == 2 and view["role_name"] == "supplier"


def test_pages_by_cursor_return_every_match_once(shelf: Shelf) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        response = shelf.get(CERTIFICATES, **params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [f"{item['issuer']}/{item['serial']}" for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == shelf.stored
    assert pages == -(-shelf.stored // 3)
    # A filtered walk: the organisation's four certificates, two to a page.
    first = shelf.get(CERTIFICATES, eui=SUPPLIER_EUI, limit="2").json()
    second = shelf.get(CERTIFICATES, eui=SUPPLIER_EUI, limit="2", cursor=first["next_cursor"])
    assert second.json()["next_cursor"] is None
    found = [i["serial"] for i in first["items"] + second.json()["items"]]
    assert sorted(found) == sorted(shelf.named("org-old", "org-ds", "org-ka", "org-revoked"))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"eui": "90B3D51F3001"}, "bad-eui"),
        ({"role": "supplierish"}, "bad-role"),
        ({"usage": "ca-sign"}, "bad-usage"),
        ({"status": "lost"}, "bad-status"),
        ({"issuer": "issuing-xyz"}, "bad-issuer"),
        ({"kind": "pet"}, "bad-kind"),
        ({"limit": "0"}, "bad-limit"),
        ({"limit": "1001"}, "bad-limit"),
        ({"limit": "ten"}, "bad-limit"),
        ({"cursor": "not-ours"}, "bad-cursor"),
        ({"cursor": encode_cursor(1 << 70)}, "bad-cursor"),
        ({"serial": "xyz"}, "bad-serial"),
    ],
)
def test_bad_searches_are_400(shelf: Shelf, params: dict[str, str], code: str) -> None:
    body = assert_problem(shelf.get(CERTIFICATES, **params), 400, code)
    assert body["rid"] == "R-REP-2"


# -- one certificate (R-REP-2) ------------------------------------------------------------------


def test_certificate_by_serial_as_json_der_and_pem(shelf: Shelf) -> None:
    org = shelf.issued["org-ds"]
    path = f"{CERTIFICATES}/{org.hex}"
    view = shelf.get(path)
    assert view.status_code == 200 and view.headers["content-type"] == "application/json"
    shown = view.json()
    assert shown["serial"] == org.hex and shown["issuer"] == "issuing-oca"
    assert shown["kind"] == ORG and shown["eui64"] == SUPPLIER_EUI
    assert (shown["role"], shown["role_name"]) == (2, "supplier")
    assert (shown["key_usage"], shown["key_usage_name"]) == ("ds", "digitalSignature")
    assert shown["status"] == "in-use" and shown["not_after"] is not None
    assert "OU=02" in shown["subject"]

    der = shelf.accepting(path, DER)
    assert der.headers["content-type"] == DER
    assert der.content == org.der  # byte for byte what was issued
    pem = shelf.accepting(path, PEM)
    assert pem.headers["content-type"] == PEM
    assert x509.load_pem_x509_certificate(pem.content).public_bytes(Encoding.DER) == org.der
    # ?format= overrides Accept; serials may be written with colons.
    colons = ":".join(org.hex[i : i + 2] for i in range(0, 32, 2))
    chosen = shelf.accepting(f"{CERTIFICATES}/{colons}", "application/json", format="der")
    assert chosen.content == org.der and chosen.headers["vary"] == "Accept"

    device = shelf.get(f"{CERTIFICATES}/{shelf.issued['device-suspended'].hex}").json()
    assert device["kind"] == DEVICE and device["subject"] == "" and device["not_after"] is None
    assert device["status"] == "suspended" and device["eui64"] == DEVICE_B
    expired = shelf.get(f"{CERTIFICATES}/{shelf.issued['org-old'].hex}").json()
    assert expired["status"] == "expired"


def test_certificate_refusals(shelf: Shelf) -> None:
    before = audit_events(shelf.smki)
    unknown = f"{CERTIFICATES}/{'7' * 32}"
    assert_problem(shelf.get(unknown), 404, "certificate-not-found")
    # Longer than any serial the store can hold: still simply not there.
    assert_problem(shelf.get(f"{CERTIFICATES}/{'7' * 40}"), 404, "certificate-not-found")
    assert_problem(shelf.get(f"{CERTIFICATES}/not-hex"), 400, "bad-serial")
    org = f"{CERTIFICATES}/{shelf.issued['org-ds'].hex}"
    assert_problem(shelf.accepting(org, "text/html"), 406, "not-acceptable")
    assert_problem(shelf.get(org, format="xml"), 400, "bad-format")
    assert_problem(shelf.get(org, issuer="nobody"), 400, "bad-issuer")

    colliding = f"{CERTIFICATES}/{shelf.colliding_serial:X}"
    body = assert_problem(shelf.get(colliding), 409, "ambiguous-serial")
    assert body["rid"] == "R-REP-2"
    device = shelf.get(colliding, issuer="issuing-dca", format="der")
    assert device.content == shelf.issued["device-ds"].der
    assert shelf.get(colliding, issuer="issuing-oca").json()["issuer"] == "issuing-oca"

    # Without a session nothing is shown; none of the refusals wrote anything.
    assert_problem(shelf.client.get(org), 401, "session-missing")
    assert_problem(
        shelf.client.get(org, headers={"Authorization": "Bearer smkis_forged"}),
        401,
        "session-invalid",
    )
    assert audit_events(shelf.smki) == before


# -- revocation lists (R-REP-5) -----------------------------------------------------------------


def test_revocation_lists_current_and_by_number(shelf: Shelf) -> None:
    listing = shelf.get(LISTS)
    assert listing.status_code == 200, listing.text
    lists = {item["authority"]: item for item in listing.json()["items"]}
    oca = lists["issuing-oca"]
    assert oca["list_kind"] == "crl" and lists["root-oca"]["list_kind"] == "arl"
    assert oca["numbers"] == list(range(1, oca["number"] + 1)) and oca["number"] >= 2

    revoked = shelf.issued["org-revoked"].serial
    current = shelf.get(f"{LISTS}/issuing-oca")
    assert current.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(current.content)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == oca["number"]
    assert crl.get_revoked_certificate_by_serial_number(revoked) is not None

    first = shelf.get(f"{LISTS}/issuing-oca/1", format="pem")
    assert first.headers["content-type"] == PEM
    crl_one = x509.load_pem_x509_crl(first.content)
    assert crl_one.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert crl_one.get_revoked_certificate_by_serial_number(revoked) is None
    arl = x509.load_der_x509_crl(shelf.get(f"{LISTS}/root-oca").content)
    assert (
        arl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        == (lists["root-oca"]["number"])
    )

    assert_problem(shelf.get(f"{LISTS}/issuing-oca/999"), 404, "crl-not-found")
    assert_problem(shelf.get(f"{LISTS}/nobody"), 404, "authority-not-found")
    assert_problem(shelf.get(f"{LISTS}/issuing-oca/first"), 400, "bad-number")
    assert_problem(shelf.get(f"{LISTS}/issuing-oca/{'9' * 30}"), 400, "bad-number")


# -- documents (R-DOC-1, R-DOC-2, R-REP-3) ------------------------------------------------------


def _listed(shelf: Shelf, headers: dict[str, str]) -> set[tuple[str, int]]:
    response = shelf.client.get(DOCUMENTS, headers=headers)
    assert response.status_code == 200, response.text
    return {(item["kind"], item["version"]) for item in response.json()["items"]}


def test_documents_by_version_and_the_confidential_cps(shelf: Shelf) -> None:
    public = {("device-cp", 1), ("device-cp", 2)}
    cps = "organisation-cps"
    before = audit_events(shelf.smki)
    # A SEC Party and the SEC Panel read the public documents; the CPS is not even listed.
    for reader in (shelf.supplier, shelf.panel):
        assert _listed(shelf, reader) == public
        latest = shelf.client.get(f"{DOCUMENTS}/device-cp", headers=reader)
        assert latest.content == b"Device CP, second version"
        assert latest.headers["content-type"].startswith("text/plain")
        assert latest.headers["etag"] == f'"{hashlib.sha256(latest.content).hexdigest()}"'
        first = shelf.client.get(f"{DOCUMENTS}/device-cp/1", headers=reader)
        assert first.content == b"Device CP, first version"
        for path in (f"{DOCUMENTS}/{cps}", f"{DOCUMENTS}/{cps}/1", f"{DOCUMENTS}/{cps}/7"):
            body = assert_problem(
                shelf.client.get(path, headers=reader), 403, "confidential-document"
            )
            assert body["rid"] == "R-DOC-2"
    # The SMKI PMA reads it.
    assert _listed(shelf, shelf.pma) == public | {(cps, 1)}
    secret = shelf.client.get(f"{DOCUMENTS}/{cps}/1", headers=shelf.pma)
    assert secret.status_code == 200 and secret.content == b"confidential practices"
    assert secret.headers["content-disposition"] == f'attachment; filename="{cps}-v1.txt"'
    assert secret.headers["x-content-type-options"] == "nosniff"
    unchanged = shelf.client.get(
        f"{DOCUMENTS}/{cps}/1", headers=shelf.pma | {"If-None-Match": secret.headers["etag"]}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""

    assert_problem(shelf.get(f"{DOCUMENTS}/rapp"), 404, "document-not-found")
    assert_problem(shelf.get(f"{DOCUMENTS}/device-cp/3"), 404, "document-not-found")
    assert_problem(shelf.get(f"{DOCUMENTS}/novel"), 400, "bad-document-kind")
    assert_problem(shelf.get(f"{DOCUMENTS}/device-cp/latest"), 400, "bad-number")
    assert audit_events(shelf.smki) == before


def test_request_times_are_recorded(shelf: Shelf) -> None:
    """R-REP-4: the Service Interface's recorder measures the repository's routes too."""
    assert shelf.get(f"{CERTIFICATES}/{shelf.issued['org-ds'].hex}").status_code == 200
    metrics = shelf.client.get("/metrics").text
    assert 'endpoint="/repository/v1/certificates/{serial}"' in metrics
    described = shelf.client.get("/openapi.json").json()["paths"]
    assert {CERTIFICATES, f"{CERTIFICATES}/{{serial}}", LISTS, DOCUMENTS} <= set(described)
