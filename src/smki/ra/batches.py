"""Batched CSRs, issuance (R-SI-2, R-CA-4): a runner that survives crashes.

A ``BatchRunner`` leases one batch at a time and issues its open items on the signing pool
with ``DeviceBatchIssuer``. Each item's outcome is written in the transaction that stores its
certificate (or records its refusal), and only an open item can take one. So a crash at any
point leaves every item with one stored certificate or open: on restart the pending intents
are abandoned (``recover_intents``) and the open items are issued again. Exactly one
certificate per CSR, none lost. Intake is ``ra/batch_intake.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor

from smki.ca.authority import LoadedAuthority
from smki.ca.issuer import recover_intents
from smki.ca.linting import PreSignLinter
from smki.ca.pool import SigningPool, default_processes
from smki.clock import Clock
from smki.errors import (
    Conflict,
    Forbidden,
    KeyStoreError,
    NotFound,
    SmkiError,
    StorageError,
)
from smki.keystore.base import StoreSpec
from smki.ra.device_batch import DEFAULT_CHUNK, DeviceBatchIssuer, Refused, prepare_devices
from smki.ra.status import load_party, require_authorised
from smki.storage.api import BatchItemRow, BatchRow, Store, Transaction
from smki.x509.keys import spki_der

log = logging.getLogger(__name__)


def new_owner() -> str:
    """A lease owner id unique to this runner: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class BatchRunner:
    """Issues accepted batches of one environment with its Issuing DCA (R-SI-2).

    ``run_until_idle`` works through every claimable batch and returns (tests, tools);
    ``start``/``stop`` run the same loop in a background thread of a service process. The
    signing pool is made on first use from ``keystore`` (``processes`` workers, default one
    per core, warm before it is used) unless one is given; with ``prestart_pool`` the loop
    makes it as soon as it starts.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        authority: LoadedAuthority,
        linter: PreSignLinter | None,
        actor: str,
        *,
        keystore: StoreSpec | None = None,
        pool: SigningPool | None = None,
        processes: int | None = None,
        chunk: int = DEFAULT_CHUNK,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        poll_seconds: float = 2.0,
        owner: str | None = None,
        prestart_pool: bool = False,
    ) -> None:
        if pool is None and keystore is None:
            raise ValueError("a BatchRunner needs a signing pool or a key store to make one")
        self._store = store
        self._clock = clock
        self._authority = authority
        self._env = authority.row.env
        self._linter = linter
        self._actor = actor
        self._keystore = keystore
        self._pool = pool
        self._owns_pool = pool is None
        self._processes = processes or default_processes()
        self._chunk = chunk
        self._lease = lease
        self._poll = poll_seconds
        self.owner = owner or new_owner()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered = False
        self._prestart = prestart_pool
        self._started = threading.Event()
        if not prestart_pool:
            self._started.set()

    # -- driving ------------------------------------------------------------------------
    def run_until_idle(self, *, max_attempts: int = 3) -> int:
        """Issue every batch that can be claimed now; returns how many were finished.

        A batch left unfinished (lost lease, transient failure) is retried, up to
        ``max_attempts`` times in this call."""
        finished = 0
        attempts: dict[str, int] = {}
        while not self._stopping.is_set():
            batch = self.run_once()
            if batch is None:
                return finished
            if batch.state in ("done", "failed"):
                finished += 1
                continue
            attempts[batch.id] = attempts.get(batch.id, 0) + 1
            if attempts[batch.id] >= max_attempts:
                return finished
        return finished

    def run_once(self) -> BatchRow | None:
        """Claim one batch and work on it; its row afterwards, or None if none was free."""
        self._recover_if_safe()
        now = self._clock.now()
        with self._store.transaction() as tx:
            batch = tx.claim_batch(self.owner, now + self._lease, now, env=self._env)
            if batch is not None:
                tx.audit(
                    self._actor,
                    "batch.claimed",
                    f"batch:{batch.id}",
                    {"owner": self.owner, "until": (now + self._lease).isoformat()},
                )
        if batch is None:
            return None
        self._work_on(batch)
        with self._store.transaction() as tx:
            return tx.batch(batch.id)

    def start(self) -> None:
        """Settle what a crash left pending (now, in the caller's thread), then run the loop
        in a daemon thread until ``stop``."""
        if self._thread is not None:
            return
        try:
            self._recover_if_safe()
        except SmkiError as error:  # the loop tries again
            log.warning("batch runner %s: recovery failed at start: %s", self.owner, error.code)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"smki-batches-{self._env}", daemon=True
        )
        self._thread.start()

    @property
    def started(self) -> bool:
        """The pre-started signing pool is warm (or failed to start, which is logged): a
        batch sent now is issued at full speed, not behind the workers' start-up."""
        return self._started.is_set()

    def wake(self) -> None:
        """Look for work now rather than at the next poll (a batch was just accepted)."""
        self._wake.set()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Finish the slice in hand, give its lease back, and stop; then close the pool."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.close()

    def close(self) -> None:
        if self._owns_pool and self._pool is not None:
            self._pool.close()
            self._pool = None

    def _loop(self) -> None:
        if self._prestart:
            try:
                self._signing_pool()  # spawned and warm before the first batch arrives
            except Exception:
                log.exception("batch runner %s: the signing pool did not start", self.owner)
            finally:
                self._started.set()
        while not self._stopping.is_set():
            try:
                busy = self.run_once() is not None
            except Exception:
                log.exception("batch runner %s: unexpected error; retrying", self.owner)
                busy = False
            if not busy:
                self._wake.wait(self._poll)
                self._wake.clear()

    # -- recovery -----------------------------------------------------------------------
    def _recover_if_safe(self) -> None:
        """Settle what a crash left pending when no other runner is mid-batch (R-CA-4).

        Needed at start and whenever another runner's lease ran out (it crashed). Pending
        intents are global, and a live process's are merely in flight: recovering them under
        it would make it redo its chunk. So recovery waits until no batch is leased by
        another runner (the leases of a crashed runner run out), and settles only intents
        older than a lease: a live runner stores each chunk well within its lease, and a
        single issuance takes seconds at most. (Were one abandoned anyway, its store would be
        refused and rolled back, and its items issued again: never twice.)
        """
        now = self._clock.now()
        with self._store.transaction() as tx:
            foreign = [
                b for b in tx.unfinished_batches() if b.lease_owner not in (None, self.owner)
            ]
        if self._recovered and not any(
            b.lease_until is not None and b.lease_until < now for b in foreign
        ):
            return
        if any(b.lease_until is not None and b.lease_until >= now for b in foreign):
            return
        finished, abandoned = recover_intents(
            self._store, self._clock, self._actor, older_than=self._lease
        )
        if finished or abandoned:
            log.info("recovered intents: %d finished, %d abandoned", finished, abandoned)
        self._recovered = True

    # -- one batch ----------------------------------------------------------------------
    def _work_on(self, batch: BatchRow) -> None:
        try:
            self._issue(batch)
        except Conflict as error:
            # Lost the lease, or an item or intent was settled under us: our transaction
            # was rolled back, so the open items stay open for whoever holds the batch.
            log.warning("batch %s: %s; leaving it open", batch.id, error.code)
            self._release(batch)
        except (StorageError, KeyStoreError, BrokenExecutor) as error:
            log.warning("batch %s: transient failure (%s); will retry", batch.id, error)
            if isinstance(error, BrokenExecutor):
                self.close()
            self._release(batch)
            self._stopping.wait(self._poll)
        except Exception:
            log.exception("batch %s: internal error", batch.id)
            self._fail(batch)

    def _issue(self, batch: BatchRow) -> None:
        refusal = self._entitlement_refusal(batch)
        for _ in range(3):
            after = -1
            while not self._stopping.is_set():
                items = self._next_items(batch, after)
                if not items:
                    break
                if refusal is None:
                    self._issue_items(batch, items)
                else:
                    self._refuse_items(batch, items, refusal)
                after = items[-1].idx
            if self._stopping.is_set():
                self._release(batch)
                return
            if self._finish(batch):
                return
        self._release(batch)

    def _entitlement_refusal(self, batch: BatchRow) -> str | None:
        """Why the batch's party may no longer be issued certificates, or None (R-PART-2)."""
        with self._store.transaction() as tx:
            try:
                require_authorised(tx, load_party(tx, batch.party_id))
            except (Forbidden, NotFound) as error:
                return error.detail
        return None

    def _next_items(self, batch: BatchRow, after: int) -> list[BatchItemRow]:
        # Large slices: each slice ends with the pool draining, so fewer slices keep it busy
        # (32,000 CSRs of a few hundred octets each with the default chunk).
        limit = self._chunk * max(2, self._processes) * 8
        with self._store.transaction() as tx:
            self._renew(tx, batch)
            return tx.open_items(batch.id, limit, after=after)

    def _renew(self, tx: Transaction, batch: BatchRow) -> None:
        if not tx.renew_lease(batch.id, self.owner, self._clock.now() + self._lease):
            raise Conflict(f"the lease on batch {batch.id} was lost", code="batch-lease-lost")

    def _issue_items(self, batch: BatchRow, items: Sequence[BatchItemRow]) -> None:
        indices = [item.idx for item in items]

        def on_refused(tx: Transaction, refused: Sequence[Refused]) -> None:
            self._renew(tx, batch)
            errors = [(indices[r.index], r.code, r.detail) for r in refused]
            tx.set_item_errors(batch.id, errors)
            tx.audit(
                self._actor,
                "batch.items-refused",
                f"batch:{batch.id}",
                {"items": [[idx, code] for idx, code, _ in errors]},
            )

        def on_chunk_stored(tx: Transaction, stored: Sequence[tuple[int, int]]) -> None:
            self._renew(tx, batch)
            tx.set_item_results(batch.id, [(indices[i], certificate) for i, certificate in stored])

        issuer = DeviceBatchIssuer(
            self._store,
            self._clock,
            self._signing_pool(),
            self._authority.signing,
            self._authority.context,
            self._linter,
            self._actor,
            chunk=self._chunk,
            on_refused=on_refused,
            on_chunk_stored=on_chunk_stored,
        )
        issuer.run([item.csr for item in items], label=batch.id)

    def _refuse_items(self, batch: BatchRow, items: Sequence[BatchItemRow], why: str) -> None:
        with self._store.transaction() as tx:
            self._renew(tx, batch)
            tx.set_item_errors(
                batch.id, [(item.idx, "not-authorised-subscriber", why) for item in items]
            )
            tx.audit(
                self._actor,
                "batch.items-refused",
                f"batch:{batch.id}",
                {"code": "not-authorised-subscriber", "count": len(items)},
            )

    def _finish(self, batch: BatchRow) -> bool:
        """Mark the batch done if no item is open; False if some still are."""
        with self._store.transaction() as tx:
            self._renew(tx, batch)
            issued, failed, still_open = tx.batch_counts(batch.id)
            if still_open:
                return False
            if tx.finish_batch(batch.id, "done", self._clock.now()):
                tx.audit(
                    self._actor,
                    "batch.done",
                    f"batch:{batch.id}",
                    {"issued": issued, "failed": failed, "owner": self.owner},
                )
        return True

    def _fail(self, batch: BatchRow) -> None:
        """An internal error: the open items are answered ``internal-error``, the batch
        ``failed`` (the subscriber resubmits them)."""
        try:
            with self._store.transaction() as tx:
                open_items = tx.open_items(batch.id, batch.count)
                tx.set_item_errors(
                    batch.id,
                    [
                        (i.idx, "internal-error", "the CSR could not be processed; resubmit it")
                        for i in open_items
                    ],
                )
                if tx.finish_batch(batch.id, "failed", self._clock.now()):
                    issued, failed, _ = tx.batch_counts(batch.id)
                    tx.audit(
                        self._actor,
                        "batch.failed",
                        f"batch:{batch.id}",
                        {"issued": issued, "failed": failed, "owner": self.owner},
                    )
        except SmkiError as error:
            log.warning("batch %s: could not record its failure: %s", batch.id, error.code)

    def _release(self, batch: BatchRow) -> None:
        """Give the lease back so that another runner (or this one) resumes at once."""
        try:
            with self._store.transaction() as tx:
                tx.renew_lease(batch.id, self.owner, self._clock.now() - dt.timedelta(seconds=1))
        except SmkiError as error:
            log.warning("batch %s: could not release its lease: %s", batch.id, error.code)

    def _signing_pool(self) -> SigningPool:
        if self._pool is None:
            assert self._keystore is not None
            pool = SigningPool(
                self._keystore,
                self._authority.row.key_label,
                spki_der(self._authority.signing.public_key),
                self._processes,
            )
            try:
                pool.warm([prepare_devices.__module__])
            except BaseException:
                pool.close()
                raise
            self._pool = pool
        return self._pool
