"""Batched CSRs (R-SI-2): batches, their items in input order, and runner leases.

A batch is claimed by one runner at a time through a lease (owner, until). On PostgreSQL the
claim reads the candidate with ``FOR UPDATE SKIP LOCKED``, so service processes on one
database never claim the same batch and never wait on each other; on SQLite ``BEGIN
IMMEDIATE`` already serialises writers. Item outcomes are conditional updates (only an open
item takes a result), so even a runner that lost its lease cannot give a CSR a second
certificate: its whole transaction is refused and rolled back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from smki.errors import Conflict, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import BatchItemError, BatchItemRow, BatchRow
from smki.storage.sql_base import SqlBase, chunks
from smki.storage.sql_bulk import execute_many

_UNFINISHED: Final = ("accepted", "issuing")
_FINISHED: Final = frozenset({"done", "failed"})
#: Items per executemany when a batch is stored (up to 50,000 CSRs, R-SI-2).
_ITEM_ROWS_PER_STATEMENT: Final = 5000


class BatchSql(SqlBase):
    """The batch part of ``Transaction``."""

    def add_batch(
        self,
        batch_id: str,
        env: str,
        party_id: int,
        aro_id: int,
        received_at: dt.datetime,
        deadline: dt.datetime,
        csrs: Sequence[bytes],
    ) -> BatchRow:
        """Store an accepted batch and its items (bulk insert) in state "accepted".

        Conflict ``duplicate-batch`` if the id exists; NotFound if the party or ARO does not.
        """
        try:
            self._run(
                t.batches.insert().values(
                    id=batch_id,
                    env=env,
                    party_id=party_id,
                    aro_id=aro_id,
                    state="accepted",
                    count=len(csrs),
                    received_at=received_at,
                    deadline=deadline,
                    completed_at=None,
                    lease_owner=None,
                    lease_until=None,
                    issued=0,
                    failed=0,
                )
            )
        except Conflict:
            raise Conflict(f"batch {batch_id} already exists", code="duplicate-batch") from None
        rows = [{"batch_id": batch_id, "idx": i, "csr": bytes(csr)} for i, csr in enumerate(csrs)]
        for start in range(0, len(rows), _ITEM_ROWS_PER_STATEMENT):
            self._many(t.batch_items.insert(), rows[start : start + _ITEM_ROWS_PER_STATEMENT])
        return self._require_batch(batch_id)

    def batch(self, batch_id: str) -> BatchRow | None:
        row = self._first(sa.select(t.batches).where(t.batches.c.id == batch_id))
        return None if row is None else batch_row(row)

    def claim_batch(
        self, owner: str, until: dt.datetime, now: dt.datetime, *, env: str | None = None
    ) -> BatchRow | None:
        """Lease the oldest unfinished batch whose lease is free or past; None if none is.

        The batch becomes "issuing" with ``owner`` holding it until ``until``.
        """
        b = t.batches
        claimable = sa.and_(
            b.c.state.in_(_UNFINISHED),
            sa.or_(b.c.lease_until.is_(None), b.c.lease_until < now),
        )
        if env is not None:
            claimable = sa.and_(claimable, b.c.env == env)
        candidate = self._first(
            sa.select(b.c.id)
            .where(claimable)
            .order_by(b.c.received_at, b.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        claimed = self._run(
            b.update()
            .where(b.c.id == candidate.id, claimable)
            .values(state="issuing", lease_owner=owner, lease_until=until)
        ).rowcount
        if claimed != 1:
            return None  # another claimant got there between our read and our write
        return self._require_batch(str(candidate.id))

    def renew_lease(self, batch_id: str, owner: str, until: dt.datetime) -> bool:
        """Conditional: False unless ``owner`` holds the lease of an unfinished batch."""
        b = t.batches
        renewed = self._run(
            b.update()
            .where(b.c.id == batch_id, b.c.lease_owner == owner, b.c.state.in_(_UNFINISHED))
            .values(lease_until=until)
        ).rowcount
        return bool(renewed == 1)

    def unfinished_batches(self, env: str | None = None) -> list[BatchRow]:
        """Batches "accepted" or "issuing", oldest first (leases and queue depth)."""
        b = t.batches
        stmt = sa.select(b).where(b.c.state.in_(_UNFINISHED)).order_by(b.c.received_at, b.c.id)
        if env is not None:
            stmt = stmt.where(b.c.env == env)
        return [batch_row(r) for r in self._all(stmt)]

    def open_items(self, batch_id: str, limit: int, *, after: int = -1) -> list[BatchItemRow]:
        """Items with neither certificate nor error, ``idx > after``, in idx order."""
        i = t.batch_items
        stmt = (
            sa.select(i)
            .where(
                i.c.batch_id == batch_id,
                i.c.idx > after,
                i.c.certificate_id.is_(None),
                i.c.error_code.is_(None),
            )
            .order_by(i.c.idx)
            .limit(limit)
        )
        return [batch_item_row(r) for r in self._all(stmt)]

    def set_item_results(self, batch_id: str, results: Sequence[tuple[int, int]]) -> None:
        """Record (idx, certificate_id) for open items; Conflict ``batch-item-not-open`` if an
        item already has an outcome (or does not exist), and then nothing is recorded."""
        params = [
            {"b_batch": batch_id, "b_idx": idx, "b_certificate": certificate_id}
            for idx, certificate_id in results
        ]
        self._set_outcomes(
            batch_id, params, {"certificate_id": sa.bindparam("b_certificate")}, "issued"
        )

    def set_item_errors(self, batch_id: str, errors: Sequence[tuple[int, str, str]]) -> None:
        """Record (idx, code, detail) for open items; Conflict as for ``set_item_results``."""
        params = [
            {"b_batch": batch_id, "b_idx": idx, "b_code": code, "b_detail": detail}
            for idx, code, detail in errors
        ]
        self._set_outcomes(
            batch_id,
            params,
            {"error_code": sa.bindparam("b_code"), "error_detail": sa.bindparam("b_detail")},
            "failed",
        )

    def _set_outcomes(
        self, batch_id: str, params: list[dict[str, Any]], values: dict[str, Any], counter: str
    ) -> None:
        if not params:
            return
        i = t.batch_items
        stmt = (
            i.update()
            .where(
                i.c.batch_id == sa.bindparam("b_batch"),
                i.c.idx == sa.bindparam("b_idx"),
                i.c.certificate_id.is_(None),
                i.c.error_code.is_(None),
            )
            .values(**values)
        )
        with self.isolated():
            # Both drivers report the summed rowcount of an executemany. On PostgreSQL an item
            # being settled by a concurrent transaction is waited for and then re-checked.
            updated = 0
            for chunk in chunks(params):
                updated += self._many(stmt, chunk)
            if updated != len(params):
                raise Conflict(
                    "a batch item already has an outcome (or does not exist)",
                    code="batch-item-not-open",
                    rid="R-SI-2",
                )
            # The counter moves with the items, in this transaction: status reads one row.
            b = t.batches
            self._run(
                b.update().where(b.c.id == batch_id).values({counter: b.c[counter] + len(params)})
            )

    def finish_batch(self, batch_id: str, state: str, at: dt.datetime) -> bool:
        """Conditional: set "done" or "failed" and release the lease; False if the batch was
        already finished. NotFound ``unknown-batch`` for an unknown id."""
        if state not in _FINISHED:
            raise StorageError(f"a batch cannot finish as {state!r}", code="bad-batch-state")
        b = t.batches
        finished = self._run(
            b.update()
            .where(b.c.id == batch_id, b.c.state.in_(_UNFINISHED))
            .values(state=state, completed_at=at, lease_owner=None, lease_until=None)
        ).rowcount
        if finished == 0:
            self._require_batch(batch_id)
            return False
        return True

    def batch_counts(self, batch_id: str) -> tuple[int, int, int]:
        """(issued, failed, open) items, from the counters on the batch's row."""
        b = t.batches
        row = self._first(sa.select(b.c["count"], b.c.issued, b.c.failed).where(b.c.id == batch_id))
        if row is None:
            return 0, 0, 0
        issued, failed = int(row.issued), int(row.failed)
        return issued, failed, int(row._mapping["count"]) - issued - failed

    def batch_errors(self, batch_id: str) -> list[BatchItemError]:
        """The items refused, in idx order."""
        i = t.batch_items
        stmt = (
            sa.select(i.c.idx, i.c.error_code, i.c.error_detail)
            .where(i.c.batch_id == batch_id, i.c.error_code.is_not(None))
            .order_by(i.c.idx)
        )
        return [
            BatchItemError(int(r.idx), str(r.error_code), str(r.error_detail or ""))
            for r in self._all(stmt)
        ]

    def batch_certificates(self, batch_id: str) -> list[bytes]:
        """The DER of the certificates issued for the batch, in idx order."""
        i, c = t.batch_items, t.certificates
        stmt = (
            sa.select(c.c.der)
            .select_from(i.join(c, c.c.id == i.c.certificate_id))
            .where(i.c.batch_id == batch_id)
            .order_by(i.c.idx)
        )
        return [bytes(r.der) for r in self._all(stmt)]

    def _many(self, stmt: sa.Insert | sa.Update, rows: list[dict[str, Any]]) -> int:
        """executemany; its summed rowcount. On SQLite without SQLAlchemy's per-row work
        (``sql_bulk``): a 50,000-CSR batch writes each item twice (R-SI-2)."""
        if self._conn.dialect.name == "sqlite":
            return execute_many(self._conn, stmt, rows)
        return int(self._run(stmt, rows).rowcount)

    def _require_batch(self, batch_id: str) -> BatchRow:
        found = self.batch(batch_id)
        if found is None:
            raise batch_not_found(batch_id)
        return found


def batch_not_found(batch_id: str) -> NotFound:
    return NotFound(f"batch {batch_id} not found", code="unknown-batch", rid="R-SI-2")


def batch_row(row: sa.Row[Any]) -> BatchRow:
    return BatchRow(
        id=str(row.id),
        env=str(row.env),
        party_id=int(row.party_id),
        aro_id=int(row.aro_id),
        state=str(row.state),
        count=int(row._mapping["count"]),  # ``Row.count`` is tuple.count
        received_at=row.received_at,
        deadline=row.deadline,
        completed_at=row.completed_at,
        lease_owner=None if row.lease_owner is None else str(row.lease_owner),
        lease_until=row.lease_until,
    )


def batch_item_row(row: sa.Row[Any]) -> BatchItemRow:
    return BatchItemRow(
        batch_id=str(row.batch_id),
        idx=int(row.idx),
        csr=bytes(row.csr),
        certificate_id=None if row.certificate_id is None else int(row.certificate_id),
        error_code=None if row.error_code is None else str(row.error_code),
        error_detail=None if row.error_detail is None else str(row.error_detail),
    )
