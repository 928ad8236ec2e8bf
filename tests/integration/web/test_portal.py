"""The SMKI Repository portal in headless Chromium (R-REP-7, R-REP-2, R-REP-3, R-REP-5, R-DOC-2).

A real server on 127.0.0.1 serves one home per module; Debian's Chromium, driven by
Playwright, signs in with hand-made ARO tokens, searches, opens certificates, downloads CRLs,
documents and certificates, and takes a screenshot. The pages read through the same
``smki.repository`` domain and store protocols on every backend, and the storage tests run on
SQLite and PostgreSQL; so these browser tests run on SQLite only, to stay a handful.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import Page

from smki.api.problems import status_for
from smki.errors import InputError
from tests.integration.web.support import (
    CPS_DOCUMENT,
    DEVICE_EUI,
    PUBLIC_DOCUMENT,
    PortalHome,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sign_in(page: Page, home: PortalHome, credential: Path) -> None:
    """Paste a fresh ARO token for /portal/sign-in, as a reader would (docs/aro-token.md)."""
    page.goto(home.url("/portal/"))
    page.fill("#token", home.token(credential))
    with page.expect_navigation():
        page.click("#sign-in")
    assert page.url == home.url("/portal/search"), page.inner_text("body")


def download(page: Page, selector: str, into: Path) -> bytes:
    """Click a download link and return the file the browser saved (Playwright's download API)."""
    with page.expect_download() as started:
        page.click(selector)
    saved = into / started.value.suggested_filename
    started.value.save_as(saved)
    return saved.read_bytes()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def test_sign_in_search_and_view_a_device_certificate(
    page: Page, portal_home: PortalHome, tmp_path: Path
) -> None:
    home = portal_home
    first = page.goto(home.url("/portal/"))
    assert first is not None and first.status == 200
    assert first.headers["content-security-policy"] == "default-src 'self'"
    assert first.headers["x-content-type-options"] == "nosniff"

    sign_in(page, home, home.supplier.credential)
    assert page.inner_text("#party-name") == "Supplier One"
    assert page.inner_text("#reader-kind") == "SEC Party"
    cookie = next(c for c in page.context.cookies() if c["name"] == "smki_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["value"].startswith("smkis_")
    # A persistent cookie (max-age = the session's hour), not one that ends with the browser.
    assert cookie["expires"] > time.time() + 30 * 60

    # The EUI-64 as a person might type it: lower case, with separators (R-REP-2).
    page.fill("#eui", "00-db-12-34-56-78-90-c1")
    with page.expect_navigation():
        page.click("#search")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1
    serial = f"{home.device.serial_number:032X}"
    cells = rows.first.locator("td").all_inner_texts()
    assert cells == [serial, "device", "", DEVICE_EUI, "digitalSignature", "issuing-dca", "in-use"]

    with page.expect_navigation():
        page.click(f"#results a:text('{serial}')")
    assert page.inner_text("#kind") == "device"
    assert page.inner_text("#eui64") == DEVICE_EUI
    assert page.inner_text("#key-usage") == "digitalSignature"
    assert page.inner_text("#issuer") == "issuing-dca"
    assert page.inner_text("#status") == "in-use"
    assert page.inner_text("#not-after").startswith("never expires")  # R-PROF-12
    assert page.inner_text("#subject").startswith("empty")  # R-PROF-10
    assert page.inner_text("#role").startswith("none")
    assert page.inner_text("#party-name") == "Supplier One"  # every page says who reads
    shown = x509.load_pem_x509_certificate(page.inner_text("#pem").encode())
    assert shown == home.device
    der = download(page, "#download-der", tmp_path)
    assert der == home.device.public_bytes(Encoding.DER)
    pem = download(page, "#download-pem", tmp_path)
    assert x509.load_pem_x509_certificate(pem) == home.device

    shot = tmp_path / "certificate.png"
    page.screenshot(path=shot, full_page=True)
    data = shot.read_bytes()
    width, height = png_size(data)
    assert width >= 800 and height >= 400 and len(data) > 10_000


def test_revoked_certificate_and_the_crl_that_lists_it(
    page: Page, portal_home: PortalHome, tmp_path: Path
) -> None:
    home = portal_home
    sign_in(page, home, home.supplier.credential)
    serial = f"{home.organisation.serial_number:032X}"
    page.fill("#serial", serial.lower())
    page.select_option("#status", "revoked")
    page.select_option("#role", "supplier")
    with page.expect_navigation():
        page.click("#search")
    with page.expect_navigation():
        page.click(f"#results a:text('{serial}')")
    assert page.inner_text("#role") == "supplier (2)"
    assert page.inner_text("#status") == "revoked"
    assert "keyCompromise" in page.inner_text("#revocation")
    assert "OU=02" in page.inner_text("#subject")
    assert not page.inner_text("#not-after").startswith("never")

    page.goto(home.url("/portal/revocation-lists"))
    row = page.locator("#list-issuing-oca")
    number = int(row.locator("td").nth(2).inner_text())
    assert number >= 2  # the ceremony's first CRL, then the one the revocation issued at once
    crl = x509.load_der_x509_crl(download(page, "#list-issuing-oca a.current", tmp_path))
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number
    assert crl.get_revoked_certificate_by_serial_number(home.organisation.serial_number)
    first = x509.load_der_x509_crl(download(page, "#list-issuing-oca a.numbered", tmp_path))
    assert first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert first.get_revoked_certificate_by_serial_number(home.organisation.serial_number) is None
    # The root's list is an ARL (revoked issuing CAs), downloaded the same way.
    arl_number = int(page.locator("#list-root-oca td").nth(2).inner_text())
    arl = x509.load_der_x509_crl(download(page, "#list-root-oca a.current", tmp_path))
    assert arl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == arl_number


def test_pages_without_a_session_send_the_browser_to_sign_in(
    page: Page, portal_home: PortalHome
) -> None:
    home = portal_home
    for path in (
        "/portal/search?eui=00DB1234567890C1",
        "/portal/documents",
        "/portal/revocation-lists/issuing-oca/download",
        f"/portal/certificates/{home.device.serial_number:X}",
    ):
        page.goto(home.url(path))
        assert page.url == home.url("/portal/"), path
        assert page.locator("#token").is_visible()
    # A cookie that is not a session is refused and forgotten.
    page.context.add_cookies(
        [{"name": "smki_session", "value": "smkis_forged", "url": home.url("/")}]
    )
    page.goto(home.url("/portal/search"))
    assert page.url == home.url("/portal/?ended=session-invalid")
    assert "session-invalid" in page.inner_text("#ended")
    assert not [c for c in page.context.cookies() if c["name"] == "smki_session"]


@pytest.mark.parametrize(
    ("audience", "reuse", "code"),
    [
        ("/repository/v1/sessions", False, "token-audience"),  # made for another path
        ("/portal/sign-in", True, "token-replayed"),  # a token buys one session only
    ],
)
def test_a_refused_token_shows_the_reason(
    page: Page, portal_home: PortalHome, audience: str, reuse: bool, code: str
) -> None:
    home = portal_home
    token = home.token(home.supplier.credential, audience)
    if reuse:
        page.goto(home.url("/portal/"))
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("#sign-in")
        page.click("#sign-out")
    page.goto(home.url("/portal/"))
    page.fill("#token", token)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.click("#sign-in")
    assert answered.value.status == 401
    assert page.inner_text("#refusal-code") == code
    assert page.inner_text("#refusal-detail")
    assert page.url == home.url("/portal/sign-in")
    assert not [c for c in page.context.cookies() if c["name"] == "smki_session"]


def test_documents_by_reader_and_search_refusals_and_sign_out(
    page: Page, portal_home: PortalHome, tmp_path: Path
) -> None:
    home = portal_home
    sign_in(page, home, home.supplier.credential)
    page.goto(home.url("/portal/documents"))
    assert page.locator("#document-device-cp-1").is_visible()
    assert page.locator("#document-device-cps-1").count() == 0  # not even listed (R-DOC-2)
    assert download(page, "#document-device-cp-1 a", tmp_path) == PUBLIC_DOCUMENT
    refused = page.goto(home.url("/portal/documents/device-cps/1/download"))
    assert refused is not None and refused.status == 403
    assert page.inner_text("#refusal-code") == "confidential-document"

    # Input the search cannot parse is named precisely, with the form kept (R-REP-2).
    answered = page.goto(home.url("/portal/search?eui=00DB12&kind=device"))
    # The status the Service Interface's one table gives the code (smki.api.problems).
    assert answered is not None and answered.status == status_for(InputError("", code="bad-eui"))
    assert page.inner_text("#refusal-code") == "bad-eui"
    assert page.input_value("#eui") == "00DB12"
    # Paging by cursor: one certificate per page, the next page shows another.
    page.goto(home.url("/portal/search?kind=iki&limit=1"))
    seen = {page.locator("#results tbody tr td").first.inner_text()}
    with page.expect_navigation():
        page.click("#next-page")
    seen.add(page.locator("#results tbody tr td").first.inner_text())
    assert len(seen) == 2

    with page.expect_navigation():
        page.click("#sign-out")
    assert page.url == home.url("/portal/?ended=signed-out")
    page.goto(home.url("/portal/documents"))
    assert page.url == home.url("/portal/")

    # The SMKI PMA reads the confidential CPS (R-DOC-2).
    sign_in(page, home, home.pma_credential)
    assert page.inner_text("#reader-kind") == "SMKI PMA"
    page.goto(home.url("/portal/documents"))
    assert download(page, "#document-device-cps-1 a", tmp_path) == CPS_DOCUMENT
