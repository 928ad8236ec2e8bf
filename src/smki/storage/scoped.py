"""A Store view bound to one open transaction, so that several use cases commit as one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from smki.storage.api import (
    AuditRow,
    CertificateFilter,
    ListedCertificate,
    Store,
    Transaction,
)


class ScopedStore:
    """``transaction()`` yields the enclosing transaction; nothing commits until it does.

    Used by the key ceremony (R-CA-2): every certificate, CRL and audit event of a ceremony
    lands in one commit, so a crash leaves no half-built hierarchy."""

    def __init__(self, parent: Store, tx: Transaction) -> None:
        self._parent = parent
        self._tx = tx
        self.url = parent.url

    def transaction(self) -> AbstractContextManager[Transaction]:
        @contextmanager
        def scoped() -> Iterator[Transaction]:
            yield self._tx

        return scoped()

    def reading(self) -> AbstractContextManager[Transaction]:
        """Reads inside the enclosing transaction see its uncommitted writes."""
        return self.transaction()

    def look_up(
        self, env: str, wanted: CertificateFilter, *, limit: int
    ) -> list[ListedCertificate]:
        """Inside the enclosing transaction; the moment is not used by a point read's filter."""
        return self._tx.list_certificates(env, wanted, dt.datetime.now(dt.UTC), limit=limit)

    def look_up_many(
        self, env: str, field: str, keys: Sequence[Any], *, limit: int
    ) -> list[list[ListedCertificate]]:
        return [self.look_up(env, CertificateFilter(**{field: key}), limit=limit) for key in keys]

    def audit_events(self) -> Iterator[AuditRow]:
        return self._parent.audit_events()

    def audit_head(self) -> tuple[int, bytes] | None:
        return self._parent.audit_head()

    def close(self) -> None:
        """The parent store owns the connection."""
