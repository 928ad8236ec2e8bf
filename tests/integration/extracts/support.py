"""A Test environment built in-process on a fixed clock, for the bulk-extract tests (R-REP-6).

``PkiHome`` runs the real ceremony, issues real certificates through the real issuance cycle,
revokes and suspends through the real domain code, and writes extracts with the real key
store; only the clock is fixed, so that each event has a known time and windows are exact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.ca.authority import LoadedAuthority
from smki.ca.ceremony import Ceremony
from smki.ca.issuer import Issued
from smki.clock import FixedClock
from smki.config.home import HomeSettings, KeyStoreSettings
from smki.governance.suspension import lift_suspension, suspend_certificate
from smki.keystore.base import KeyStore
from smki.profiles.kinds import Environment
from smki.ra.direct import issue_from_csr
from smki.ra.revocation import revoke
from smki.repository.extract import DEFAULT_OVERLAP, write_extract
from smki.repository.extract_manifest import Manifest
from smki.repository.file_signing import FileSigner, file_signer
from smki.storage.api import Transaction
from smki.wiring import Services, build_services
from smki.x509.roles import RemotePartyRole
from tests.fixtures.stores import assert_audit_chain_ok
from tests.integration.csr_factory import device_csr, organisation_csr

ENV = Environment.TEST
PASSPHRASE = b"extract test passphrase"
#: A day ago, to the second: everything issued from here on is valid now (openssl verify).
T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(microsecond=0)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@dataclass
class PkiHome:
    services: Services
    clock: FixedClock
    home: Path

    def load(self, tx: Transaction, name: str) -> LoadedAuthority:
        return self.services.authority(tx, ENV, name)

    def issue_organisation(self, eui: bytes) -> Issued:
        return self._issue(organisation_csr(RemotePartyRole.SUPPLIER, eui))

    def issue_device(self, eui: bytes) -> Issued:
        return self._issue(device_csr(eui))

    def _issue(self, csr: bytes) -> Issued:
        return issue_from_csr(
            self.services.store,
            self.clock,
            self.services.linter(ENV),
            self.services.config,
            self.services.issuing_authority,
            ENV,
            csr,
            None,
            "test:extract",
        )

    def revoke(self, serial: int, reason: str = "keyCompromise") -> None:
        revoke(
            self.services.store,
            self.clock,
            self.services.config,
            self.load,
            ENV,
            serial,
            reason,
            "test:extract",
        )

    def suspend(self, serial: int, decision: str = "PMA-2025-007") -> None:
        suspend_certificate(
            self.services.store, self.clock, ENV, serial, None, decision, "test:pma"
        )

    def lift(self, serial: int, decision: str = "PMA-2025-008") -> None:
        lift_suspension(self.services.store, self.clock, ENV, serial, None, decision, "test:pma")

    def signer(self) -> FileSigner:
        s = self.services
        return file_signer(
            s.store, s.keystore, self.clock, s.linter(ENV), s.config, s.authority, ENV, s.actor
        )

    def extract(
        self,
        out: Path,
        since: dt.datetime | None = None,
        overlap: dt.timedelta = DEFAULT_OVERLAP,
    ) -> Manifest:
        return write_extract(
            self.services.store,
            ENV,
            self.signer(),
            out,
            since=since,
            now=self.clock.now(),
            overlap=overlap,
        )

    def ca_certificate(self, name: str) -> x509.Certificate:
        with self.services.store.reading() as tx:
            row = tx.authority(ENV, name)
            assert row is not None and row.certificate_id is not None
            return x509.load_der_x509_certificate(tx.certificate(row.certificate_id).der)

    def ceremony_serials(self) -> set[int]:
        with self.services.store.reading() as tx:
            rows = tx.certificates_created(ENV, None, at(0.5), after_id=0, limit=1000)
        return {row.serial for row in rows}


def open_pki_home(
    home: Path, database_url: str, keystore: KeyStore | None = None
) -> Iterator[PkiHome]:
    """A home whose Test ceremony ran at ``T0`` on a fixed clock; its audit chain must verify
    when the test is done."""
    home.mkdir(parents=True)
    settings = HomeSettings(home, database_url, KeyStoreSettings("file", str(home / "keys")))
    clock = FixedClock(T0)
    services = build_services(settings, clock=clock, secret=PASSPHRASE)
    if keystore is not None:
        services = dataclasses.replace(services, _keystore=keystore)
    try:
        Ceremony(
            services.store,
            services.keystore,
            clock,
            services.linter(ENV),
            services.config,
            "test:ceremony",
        ).run(ENV)
        yield PkiHome(services, clock, home)
        assert_audit_chain_ok(services.store)
    finally:
        services.close()


# -- reading and rewriting archives -----------------------------------------------------------
def members(archive: Path) -> dict[str, bytes]:
    """Every member's bytes, in archive order."""
    found: dict[str, bytes] = {}
    with tarfile.open(archive, mode="r:gz") as opened:
        for entry in opened:
            stream = opened.extractfile(entry)
            assert stream is not None
            found[entry.name] = stream.read()
    return found


def rewrite(
    source: Path, target: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]
) -> Path:
    """A copy of ``source`` whose members went through ``change``."""
    changed = change(members(source))
    with gzip.open(target, "wb") as zipped, tarfile.open(fileobj=zipped, mode="w") as archive:
        for name, data in changed.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def pem_serials(data: bytes) -> list[int]:
    return [c.serial_number for c in x509.load_pem_x509_certificates(data)] if data else []


def json_lines(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)
