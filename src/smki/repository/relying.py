"""Relying-party validation against this repository (R-RP-1..3, R-GOV-3).

The repository knows its own trust anchors (the environment's active roots), the issuing CA
certificates that complete paths, the current CRL or ARL of every CA and which certificates
the SMKI PMA suspended. ``RepositoryValidator`` keeps the parsed anchors and lists in memory
and re-reads the store at most every ``refresh`` (default 5 s) — and only re-parses when a CA
or a list number changed — so validations run at the speed of the checks themselves, while a
new CRL (issued at once on keyCompromise) is used within that bound. Suspension is asked of the
store for every validation: it fails closed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from smki.ca.crl import list_kind_of
from smki.clock import Clock
from smki.profiles.kinds import Environment, KeyUse
from smki.repository.catalogue import Catalogue
from smki.storage.api import Store
from smki.validation import RevocationLists, TrustStore, Verdict, validate

DEFAULT_REFRESH: Final = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class _Material:
    version: tuple[tuple[int, str, int], ...]  # (authority id, status, list number)
    trust: TrustStore
    lists: RevocationLists
    issuers: dict[bytes, int]  # issuer name (DER) → authority id
    read_at: dt.datetime


class RepositoryValidator:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        env: Environment,
        catalogue: Catalogue,
        refresh: dt.timedelta = DEFAULT_REFRESH,
    ) -> None:
        self._store = store
        self._clock = clock
        self._env = env
        self._catalogue = catalogue
        self._refresh = refresh
        self._material: _Material | None = None
        self._lock = threading.Lock()

    def validate(
        self,
        certificate: bytes,
        *,
        chain: Sequence[bytes] = (),
        at: dt.datetime | None = None,
        expect_device: bytes | None = None,
        expect_usage: KeyUse | None = None,
    ) -> Verdict:
        material = self._current()

        def suspended(issuer_name: bytes, serial: int) -> bool:
            authority_id = material.issuers.get(issuer_name)
            # A certificate of another issuer has no suspension record here.
            return authority_id is not None and self._catalogue.is_suspended(authority_id, serial)

        return validate(
            certificate,
            trust=material.trust,
            chain=chain,
            crls=material.lists,
            at=at or self._clock.now(),
            expect_device=expect_device,
            expect_usage=expect_usage,
            suspended=suspended,
        )

    def _current(self) -> _Material:
        now = self._clock.now()
        with self._lock:
            material = self._material
            if material is not None and now - material.read_at < self._refresh:
                return material
            self._material = self._read(material, now)
            return self._material

    def _read(self, previous: _Material | None, now: dt.datetime) -> _Material:
        certificates: dict[int, bytes] = {}
        with self._store.reading() as tx:
            authorities = [a for a in tx.authorities(self._env) if a.certificate_id is not None]
            latest = {a.id: tx.latest_crl(a.id, list_kind_of(a)) for a in authorities}
            numbers = {a_id: 0 if row is None else row.number for a_id, row in latest.items()}
            version = tuple(sorted((a.id, a.status, numbers[a.id]) for a in authorities))
            if previous is not None and previous.version == version:
                return _Material(version, previous.trust, previous.lists, previous.issuers, now)
            for authority in authorities:
                if authority.certificate_id is not None:
                    certificates[authority.id] = tx.certificate(authority.certificate_id).der
        anchors = [certificates[a.id] for a in authorities if a.is_root and a.status == "active"]
        intermediates = [certificates[a.id] for a in authorities if not a.is_root]
        lists = [row.der for row in latest.values() if row is not None]
        issuers = {
            x509.load_der_x509_certificate(der).subject.public_bytes(): authority_id
            for authority_id, der in certificates.items()
        }
        return _Material(
            version,
            TrustStore.from_der(anchors, intermediates),
            RevocationLists.from_der(lists),
            issuers,
            now,
        )
