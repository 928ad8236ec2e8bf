"""The SMKI Repository read side (R-REP-1, R-REP-2, R-REP-5): certificates and lists.

``Catalogue`` answers look-ups for one environment from read-only snapshots, so readers never
queue behind the Service Interface's writers. Authority names are cached: they change only at
a ceremony or a recovery, and an unknown id re-reads them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from smki.ca.crl import list_kind_of
from smki.clock import Clock
from smki.errors import Conflict, InputError, NotFound
from smki.profiles.kinds import Environment
from smki.repository.search import SearchQuery, encode_cursor
from smki.repository.views import CertificateView, describe
from smki.storage.api import (
    CertificateFilter,
    CertificateRow,
    CrlRow,
    ListedCertificate,
    Store,
    point_field,
)

#: Certificates read for a serial: two, to see one that more than one issuer used.
SERIAL_READ_LIMIT: Final = 2


@dataclass(frozen=True)
class Page:
    items: list[CertificateView]
    next_cursor: str | None


@dataclass(frozen=True)
class FoundCertificate:
    view: CertificateView
    der: bytes


@dataclass(frozen=True)
class ListSummary:
    """One CA's revocation list: a CRL for an issuing CA, an ARL for a root (R-REP-5)."""

    authority: str
    list_kind: str
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    numbers: list[int]


class Catalogue:
    def __init__(self, store: Store, clock: Clock, env: Environment) -> None:
        self._store = store
        self._clock = clock
        self.env = env
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    # -- authorities ------------------------------------------------------------------------
    def authority_ids(self) -> dict[str, int]:
        with self._store.reading() as tx:
            rows = tx.authorities(self.env)
        with self._lock:
            self._names = {row.id: row.name for row in rows}
        return {row.name: row.id for row in rows}

    def issuer_ids(self, name: str | None = None) -> dict[str, int]:
        """Issuer names → ids, from the cache; re-read first when ``name`` is given and the
        cache does not know it or is empty (authorities change only at a ceremony or a
        recovery)."""
        with self._lock:
            ids = {authority_name: i for i, authority_name in self._names.items()}
        if not ids or (name and name not in ids):
            ids = self.authority_ids()
        return ids

    def issuer_id(self, name: str | None) -> int | None:
        """The id of the authority ``name`` names (``?issuer=``), None when no name is given;
        InputError ``bad-issuer`` when no authority has it (R-REP-2)."""
        if not name:
            return None
        ids = self.issuer_ids(name)
        if name not in ids:
            raise InputError(
                f"no issuing authority is named {name[:40]!r}", code="bad-issuer", rid="R-REP-2"
            )
        return ids[name]

    def _issuer_names(self, rows: Sequence[CertificateRow]) -> dict[int, str]:
        with self._lock:
            names = dict(self._names)
        if any(row.authority_id not in names for row in rows):
            names = {v: k for k, v in self.authority_ids().items()}
        return names

    # -- certificates -----------------------------------------------------------------------
    def _views(self, listed: Sequence[ListedCertificate]) -> list[CertificateView]:
        names = self._issuer_names([item.row for item in listed])
        now = self._clock.now()
        return [
            describe(
                item.row,
                names.get(item.row.authority_id, str(item.row.authority_id)),
                revocation=item.revocation,
                suspended=item.suspended,
                now=now,
            )
            for item in listed
        ]

    def _list(
        self, wanted: CertificateFilter, *, after_id: int = 0, limit: int
    ) -> list[ListedCertificate]:
        if after_id == 0 and point_field(wanted) is not None:
            return self._store.look_up(self.env, wanted, limit=limit)
        with self._store.reading() as tx:
            return tx.list_certificates(
                self.env, wanted, self._clock.now(), after_id=after_id, limit=limit
            )

    def search(self, query: SearchQuery) -> Page:
        listed = self._list(query.wanted, after_id=query.after_id, limit=query.limit + 1)
        return self.page(listed, query.limit)

    def page(self, listed: Sequence[ListedCertificate], limit: int) -> Page:
        """The first ``limit`` of ``listed`` (read with ``limit + 1``), and the cursor to the
        rest when there is more."""
        more = len(listed) > limit
        shown = listed[:limit]
        cursor = encode_cursor(shown[-1].row.id) if more and shown else None
        return Page(self._views(shown), cursor)

    def look_up_many(
        self, field: str, keys: Sequence[object], *, limit: int
    ) -> list[list[ListedCertificate]]:
        """Several serials or EUI-64s (``field``) in one read; as ``search`` and
        ``certificate`` read each alone (R-REP-4)."""
        return self._store.look_up_many(self.env, field, keys, limit=limit)

    def certificate(self, serial: int, issuer_id: int | None = None) -> FoundCertificate:
        """The certificate with this serial (and issuer, when serials collide across CAs)."""
        wanted = CertificateFilter(serial=serial, authority_id=issuer_id)
        return self.found(serial, self._list(wanted, limit=SERIAL_READ_LIMIT))

    def found(self, serial: int, listed: Sequence[ListedCertificate]) -> FoundCertificate:
        """The one certificate of ``listed`` (read with ``SERIAL_READ_LIMIT``); NotFound
        when there is none, Conflict ``ambiguous-serial`` when several issuers used it."""
        if not listed:
            raise NotFound(
                f"no certificate with serial {serial:X}",
                code="certificate-not-found",
                rid="R-REP-2",
            )
        if len(listed) > 1:
            raise Conflict(
                f"serial {serial:X} is used by more than one issuer; name the issuer",
                code="ambiguous-serial",
                rid="R-REP-2",
            )
        (view,) = self._views(listed)
        return FoundCertificate(view, listed[0].row.der)

    def is_suspended(self, issuer_id: int, serial: int) -> bool:
        """Fails closed: a store that cannot answer raises, it never says "not suspended"."""
        wanted = CertificateFilter(serial=serial, authority_id=issuer_id, status="suspended")
        with self._store.reading() as tx:
            return bool(tx.find_certificates(self.env, wanted, self._clock.now(), limit=1))

    # -- revocation lists (R-REP-5) ---------------------------------------------------------
    def revocation_lists(self) -> list[ListSummary]:
        summaries = []
        with self._store.reading() as tx:
            for authority in tx.authorities(self.env):
                kind = list_kind_of(authority)
                issued = tx.crls(authority.id, kind)
                if not issued:
                    continue
                current = issued[-1]
                summaries.append(
                    ListSummary(
                        authority.name,
                        kind,
                        current.number,
                        current.this_update,
                        current.next_update,
                        [c.number for c in issued],
                    )
                )
        return summaries

    def revocation_list(self, authority_name: str, number: int | None = None) -> CrlRow:
        """The current list of a CA, or the one with that CRL number."""
        with self._store.reading() as tx:
            authority = tx.authority(self.env, authority_name)
            if authority is None:
                raise NotFound(
                    f"no authority is named {authority_name[:40]!r}",
                    code="authority-not-found",
                    rid="R-REP-5",
                )
            kind = list_kind_of(authority)
            row = (
                tx.latest_crl(authority.id, kind)
                if number is None
                else tx.crl_by_number(authority.id, kind, number)
            )
        if row is None:
            which = "any list" if number is None else f"{kind.upper()} number {number}"
            raise NotFound(
                f"{authority_name} has not issued {which}", code="crl-not-found", rid="R-REP-5"
            )
        return row
