"""The repository the reading tests share (R-REP-1..5, R-DOC-1/2): one home per database,
filled once through the real paths and served on a clock the tests hold.

Certificates are issued by the Service Interface, one is revoked through it, one suspended as
the PMA would, documents are published — then a SEC Party (a supplier), the SEC Panel and the
SMKI PMA sign in. The home's ``pki.yaml`` makes Organisation Certificates last one day, so that
moving the clock two days after the first issues gives expired certificates beside
certificates in use, all really issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.clock import FixedClock
from smki.repository.documents import DocumentKind
from smki.storage.api import NewCertificate
from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.fixtures.stores import fresh_database
from tests.integration.api.repository_support import (
    CERTIFICATES,
    publish,
    reader_with_aro,
    real_now,
    session_headers,
)
from tests.integration.api.support import CERTIFICATES as ISSUE
from tests.integration.api.support import DER, PKCS10, REVOCATIONS, Subscriber, serving
from tests.integration.cli_support import PASSPHRASE, Smki, make_smki
from tests.integration.csr_factory import device_csr, organisation_csr
from tests.integration.test_aro_authentication import hand_made_token

SUPPLIER_EUI = "90B3D51F30010000"
DEVICE_A = "00DB1234567890A1"
DEVICE_B = "00DB1234567890B2"
PMA_DECISION = "PMA-2026-11"
ORG, DEVICE = "organisation", "device"


@dataclass(frozen=True)
class Want:
    """What a certificate put in the module's repository must be shown as."""

    kind: str
    eui: str
    usage: str
    status: str  # once the module's clock has moved on two days


@dataclass(frozen=True)
class Issued:
    serial: int
    der: bytes
    want: Want

    @property
    def hex(self) -> str:
        return f"{self.serial:032X}"


@dataclass
class Shelf:
    """The module's served repository and what was put in it."""

    smki: Smki
    client: httpx.Client
    clock: FixedClock
    issued: dict[str, Issued] = field(default_factory=dict)
    #: Session headers of a SEC Party (the supplier), the SEC Panel and the SMKI PMA.
    supplier: dict[str, str] = field(default_factory=dict)
    panel: dict[str, str] = field(default_factory=dict)
    pma: dict[str, str] = field(default_factory=dict)
    colliding_serial: int = 0
    stored: int = 0

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET as the supplier, with these query parameters."""
        return self.accepting(path, "", **params)

    def accepting(self, path: str, accept: str, **params: str) -> httpx.Response:
        """GET as the supplier with an ``Accept`` header (none when empty)."""
        headers = self.supplier | ({"Accept": accept} if accept else {})
        return self.client.get(path, params=params, headers=headers)

    def serials(self, **params: str) -> set[str]:
        """The serials a search finds (one page of up to 1000)."""
        response = self.get(CERTIFICATES, limit="1000", **params)
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        return {item["serial"] for item in response.json()["items"]}

    def named(self, *names: str) -> set[str]:
        return {self.issued[name].hex for name in names}

    def where(self, **wanted: str) -> set[str]:
        """The serials of the certificates issued here whose Want has these values."""
        return {
            issued.hex
            for issued in self.issued.values()
            if all(getattr(issued.want, key) == value for key, value in wanted.items())
        }


def _token(who: Subscriber, path: str, clock: FixedClock) -> dict[str, str]:
    return {"Authorization": f"Bearer {hand_made_token(who.credential, path, clock.now())}"}


def _issue(shelf: Shelf, who: Subscriber, name: str, csr: bytes, want: Want) -> None:
    """Issue through the Service Interface, as the subscriber's ARO (R-SI-1)."""
    response = shelf.client.post(
        ISSUE,
        content=csr,
        headers={"Content-Type": PKCS10, "Accept": DER, **_token(who, ISSUE, shelf.clock)},
    )
    assert response.status_code == 201, response.text
    serial = x509.load_der_x509_certificate(response.content).serial_number
    shelf.issued[name] = Issued(serial, response.content, want)


def _fill(shelf: Shelf, supplier: Subscriber) -> None:
    eui, role = bytes.fromhex(SUPPLIER_EUI), RemotePartyRole.SUPPLIER
    device_a, device_b = bytes.fromhex(DEVICE_A), bytes.fromhex(DEVICE_B)
    first = (
        ("org-old", organisation_csr(role, eui), Want(ORG, SUPPLIER_EUI, "ds", "expired")),
        ("device-ds", device_csr(device_a), Want(DEVICE, DEVICE_A, "ds", "in-use")),
        (
            "device-ka",
            device_csr(device_a, ds=False, ka=True),
            Want(DEVICE, DEVICE_A, "ka", "in-use"),
        ),
        ("device-suspended", device_csr(device_b), Want(DEVICE, DEVICE_B, "ds", "suspended")),
    )
    then = (
        ("org-ds", organisation_csr(role, eui), Want(ORG, SUPPLIER_EUI, "ds", "in-use")),
        ("org-ka", organisation_csr(role, eui, ds=False), Want(ORG, SUPPLIER_EUI, "ka", "in-use")),
        ("org-revoked", organisation_csr(role, eui), Want(ORG, SUPPLIER_EUI, "ds", "revoked")),
    )
    for name, csr, want in first:
        _issue(shelf, supplier, name, csr, want)
    # Organisation Certificates last a day here: the first one expires, the next are in use.
    shelf.clock.advance(dt.timedelta(days=2))
    for name, csr, want in then:
        _issue(shelf, supplier, name, csr, want)
    revoked = shelf.client.post(
        REVOCATIONS,
        json={"serial": shelf.issued["org-revoked"].hex, "reason": "keyCompromise"},
        headers=_token(supplier, REVOCATIONS, shelf.clock),
    )
    assert revoked.status_code == 200, revoked.text


def _seed_store(shelf: Shelf) -> None:
    """A suspension, as the PMA decides one (R-GOV-3), and a serial used by two issuers:
    random 16-octet serials never collide by themselves, so the colliding row (a throwaway
    self-signed certificate under the Issuing OCA) is written straight to the store."""
    services = open_services(shelf.smki.home, secret=PASSPHRASE.encode())
    now = shelf.clock.now()
    try:
        with services.store.transaction() as tx:
            (held,) = tx.certificate_by_serial("test", shelf.issued["device-suspended"].serial)
            assert tx.suspend_certificate(held.id, PMA_DECISION, "pma", now) is not None
            tx.audit("pma", "certificate.suspended", f"certificate:{held.id}", {})
            oca = tx.authority("test", "issuing-oca")
            assert oca is not None
            serial = shelf.issued["device-ds"].serial
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "collision")])
            der = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(now)
                .not_valid_after(now + dt.timedelta(days=1))
                .sign(key, hashes.SHA256())
                .public_bytes(Encoding.DER)
            )
            row = NewCertificate(
                authority_id=oca.id,
                serial=serial,
                kind=ORG,
                subject_eui=None,
                role=None,
                key_usage="ds",
                not_before=now,
                not_after=now + dt.timedelta(days=1),
                ski=b"\x01" * 8,
                der=der,
            )
            tx.add_certificates([row], now)
            tx.audit("test", "test.colliding-serial", "issuing-oca", {"serial": f"{serial:X}"})
            shelf.colliding_serial = serial
            shelf.stored = tx.count_certificates("test")
    finally:
        services.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shelf(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shelf]:
    """The served repository, once per database for the module that uses it; its audit
    chain must still verify at the end."""
    folder = tmp_path_factory.mktemp("repository")
    with (
        fresh_database(request, request.param, folder) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        smki = make_smki(folder, url)
        patch.setenv("SMKI_KEY_PASSPHRASE", PASSPHRASE)
        patch.setenv("SMKI_DATABASE_URL", url)
        smki.ok("init", *smki.h, "--env", "test")
        (smki.home / "pki.yaml").write_text("organisation_validity_days: 1\n")
        supplier = reader_with_aro(
            smki, folder / "supplier", category="import-supplier", eui=SUPPLIER_EUI, name="Sup"
        )
        panel = reader_with_aro(
            smki, folder / "panel", category="sec-panel", eui="90B3D51F30040000", name="Panel"
        )
        pma = reader_with_aro(
            smki, folder / "pma", category="smki-pma", eui="90B3D51F30050000", name="PMA"
        )
        publish(smki, DocumentKind.DEVICE_CP, b"Device CP, first version")
        publish(smki, DocumentKind.DEVICE_CP, b"Device CP, second version")
        publish(smki, DocumentKind.ORGANISATION_CPS, b"confidential practices")
        clock = FixedClock(real_now())
        with serving(smki.home, clock=clock) as base_url, httpx.Client(base_url=base_url) as client:
            shelf = Shelf(smki, client, clock)
            _fill(shelf, supplier)
            _seed_store(shelf)
            shelf.supplier = session_headers(client, supplier, clock)
            shelf.panel = session_headers(client, panel, clock)
            shelf.pma = session_headers(client, pma, clock)
            yield shelf
        audit = smki("audit", "verify", *smki.h)
        assert audit.exit_code == 0, audit.stderr
