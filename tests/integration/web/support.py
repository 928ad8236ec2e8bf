"""Fixtures and helpers for the portal's browser tests (R-REP-7): Debian's Chromium driven by
Playwright, and one served home per module on SQLite, with certificates, a revocation and
documents.

The browser is ``chromium`` from PATH (the Debian package; Playwright never downloads one).
Without it the browser tests are skipped, or fail when ``SMKI_REQUIRE_CHROMIUM=1`` (CI sets
it, so a missing browser cannot pass for a green run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from playwright.sync_api import Browser, Page, sync_playwright

from smki.profiles.kinds import Environment
from smki.repository.documents import DocumentKind, publish_document
from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.fixtures.stores import assert_audit_chain_ok
from tests.integration.api.support import (
    DER,
    Api,
    Subscriber,
    authorised_supplier,
    serving,
)
from tests.integration.cli_support import PASSPHRASE, Smki, make_smki
from tests.integration.csr_factory import openssl_device_csr, organisation_csr
from tests.integration.test_aro_authentication import hand_made_token

SIGN_IN_AUDIENCE = "/portal/sign-in"
SUPPLIER_EUI = "90B3D51F30010000"
DEVICE_EUI = "00DB1234567890C1"
PMA_EUI = "90B3D51F30FF0000"
PUBLIC_DOCUMENT = b"Device Certificate Policy, version 1 (R-DOC-1)\n"
CPS_DOCUMENT = b"Device Certification Practice Statement: confidential (R-DOC-2)\n"


@dataclass(frozen=True)
class PortalHome:
    """A served home and what the tests know it holds."""

    base_url: str
    smki: Smki
    supplier: Subscriber
    pma_credential: Path
    device: x509.Certificate
    organisation: x509.Certificate  # revoked, keyCompromise

    def token(self, credential: Path, audience: str = SIGN_IN_AUDIENCE) -> str:
        return hand_made_token(credential, audience, dt.datetime.now(dt.UTC))

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Debian Chromium executable: skipped without it, failed under CI's requirement."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("SMKI_REQUIRE_CHROMIUM") == "1":
            pytest.fail("SMKI_REQUIRE_CHROMIUM=1 but chromium is not on PATH (apt: chromium)")
        pytest.skip("chromium is not on PATH (install the Debian package chromium)")
    return found


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless Chromium for the module; each test opens its own context (cookies)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and a page in it."""
    context = browser.new_context(accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def _governance_reader(smki: Smki, credential: Path) -> None:
    """The SMKI PMA registered like a party (docs/repository.md), with an ARO credential."""
    created = smki.ok(
        "party",
        "create",
        *smki.h,
        "--name",
        "SMKI PMA",
        "--category",
        "smki-pma",
        "--eui",
        PMA_EUI,
        "--json",
    )
    party_id = str(json.loads(created.stdout)["id"])
    smki.ok(
        "party",
        "verify-identity",
        *smki.h,
        "--party",
        party_id,
        "--by",
        "DCC RA officer",
        "--evidence",
        "SEC Panel minute 42",
    )
    for kind, name, extra in (
        ("sro", "Pat Chair", ()),
        ("aro", "Robin Reader", ("--credential-out", str(credential))),
    ):
        smki.ok(
            "officer",
            "add",
            *smki.h,
            "--party",
            party_id,
            "--kind",
            kind,
            "--name",
            name,
            *extra,
        )


def _publish_documents(home: Path) -> None:
    """A public Device CP and the confidential Device CPS (R-DOC-1, R-DOC-2)."""
    services = open_services(home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            for kind, title, content in (
                (DocumentKind.DEVICE_CP, "Device Certificate Policy", PUBLIC_DOCUMENT),
                (DocumentKind.DEVICE_CPS, "Device CPS", CPS_DOCUMENT),
            ):
                publish_document(
                    tx,
                    Environment.TEST,
                    kind,
                    title,
                    "text/plain",
                    content,
                    "PMA decision 2026-07",
                    "test:portal",
                    services.clock.now(),
                )
    finally:
        services.close()


@pytest.fixture(scope="module")
def portal_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalHome]:
    """A Test environment on SQLite (one backend is enough for pages), served on 127.0.0.1,
    holding a Device Certificate, a revoked Organisation Certificate and two documents."""
    root = tmp_path_factory.mktemp("portal")
    smki = make_smki(root, f"sqlite:///{root / 'smki.db'}")
    smki.ok("init", *smki.h, "--env", "test")
    supplier = authorised_supplier(smki, root / "aro", eui=SUPPLIER_EUI)
    pma_credential = root / "pma-aro"
    _governance_reader(smki, pma_credential)
    _publish_documents(smki.home)
    with pytest.MonkeyPatch.context() as patch:
        # What a server process would have in its environment (R-CA-3).
        patch.setenv("SMKI_KEY_PASSPHRASE", PASSPHRASE)
        patch.setenv("SMKI_DATABASE_URL", smki.env["SMKI_DATABASE_URL"])
        with serving(smki.home) as base_url, httpx.Client(base_url=base_url) as client:
            api = Api(smki, client)
            issued = api.post_csr(
                supplier, openssl_device_csr(root / "csr", DEVICE_EUI).read_bytes()
            )
            assert issued.status_code == 201, issued.text
            device = x509.load_pem_x509_certificate(issued.content)
            csr = organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex(SUPPLIER_EUI))
            issued = api.post_csr(supplier, csr, accept=DER)
            assert issued.status_code == 201, issued.text
            organisation = x509.load_der_x509_certificate(issued.content)
            revoked = api.revoke(supplier, f"{organisation.serial_number:X}", "keyCompromise")
            assert revoked.status_code == 200, revoked.text
            yield PortalHome(base_url, smki, supplier, pma_credential, device, organisation)
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        assert_audit_chain_ok(services.store)  # sign-ins and sign-outs are audited (R-X-1)
    finally:
        services.close()
