"""Duplicate requests (R-SI-3): the same CSR from the same party while its certificate exists.

A request is named by (environment, party, SHA-256 of the CSR's DER). Before issuing, the
Service Interface *claims* that name; a claim already held by an issued certificate, or by a
request still being answered, refuses the new one with 409 ``duplicate-request``.

The claim is kept in the store's key/value ``meta`` table through the ``Transaction`` protocol,
with an audit event in the same transaction (R-X-1): ``request.received`` when claimed,
``request.answered`` or ``request.failed`` when settled. Taking the claim first appends the
audit event, which locks the audit head (PostgreSQL ``FOR UPDATE``; SQLite ``BEGIN
IMMEDIATE``), so two identical requests — in two workers or on two hosts — are decided one
after the other and exactly one wins.

**Stop-gap**: the certificate row does not record the CSR digest or the requesting party yet.
When storage does (a ``csr_sha256`` and ``party_id`` on ``certificates`` with a unique index),
this module becomes a lookup in the issuing transaction and the ``meta`` rows go away.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from smki.ca.issuer import Issued
from smki.ca.serials import serial_hex
from smki.clock import Clock
from smki.errors import Conflict, NotFound
from smki.storage.api import Store, Transaction

_PREFIX: Final = "api.request"
#: A claim older than this whose request never settled (a crashed process) no longer blocks:
#: ten times the 30 s single-CSR target (SEC L8).
STALE_AFTER: Final = dt.timedelta(minutes=5)
_PENDING, _ISSUED, _FAILED = "pending", "issued", "failed"


@dataclass(frozen=True)
class RequestName:
    env: str
    party_id: int
    csr_sha256: bytes

    @property
    def key(self) -> str:
        return f"{_PREFIX}.{self.env}.{self.party_id}.{self.csr_sha256.hex()}"


def _duplicate(detail: str) -> Conflict:
    return Conflict(detail, code="duplicate-request", rid="R-SI-3")


def claim(tx: Transaction, clock: Clock, name: RequestName, kind: str, actor: str) -> None:
    """Claim ``name`` in ``tx`` or refuse the request as a duplicate (409)."""
    now = clock.now()
    # First, so that the audit head is locked before the claim is read (see the docstring).
    tx.audit(
        actor,
        "request.received",
        f"party:{name.party_id}",
        {"env": name.env, "kind": kind, "csr_sha256": name.csr_sha256.hex()},
    )
    state, _, value = (tx.get_meta(name.key) or "").partition(" ")
    if state == _ISSUED:
        try:
            certificate = tx.certificate(int(value))
        except (NotFound, ValueError):
            certificate = None
        if certificate is not None:
            raise _duplicate(
                "this CSR was already certified for this party: certificate "
                f"{serial_hex(certificate.serial)}"
            )
    elif state == _PENDING and now - _claimed_at(value, now) < STALE_AFTER:
        raise _duplicate("the same CSR from this party is being answered")
    tx.set_meta(name.key, f"{_PENDING} {now.isoformat()}")


def _claimed_at(value: str, now: dt.datetime) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return now - STALE_AFTER  # unreadable: treat as stale rather than block for ever


def settle(store: Store, clock: Clock, name: RequestName, issued: Issued, actor: str) -> None:
    """Mark ``name`` answered by ``issued``: from now on the CSR is a duplicate."""
    with store.transaction() as tx:
        answered(tx, name, issued, actor)


def answered(tx: Transaction, name: RequestName, issued: Issued, actor: str) -> None:
    """``settle`` inside ``tx``: the Service Interface calls it in the transaction that
    stores the certificate, so the claim and the certificate are published together."""
    tx.set_meta(name.key, f"{_ISSUED} {issued.certificate_id}")
    tx.audit(
        actor,
        "request.answered",
        f"certificate:{issued.certificate_id}",
        {"csr_sha256": name.csr_sha256.hex(), "serial": serial_hex(issued.serial)},
    )


def release(store: Store, clock: Clock, name: RequestName, code: str, actor: str) -> None:
    """Give up the claim after a failure, so that the request may be sent again."""
    with store.transaction() as tx:
        tx.set_meta(name.key, f"{_FAILED} {clock.now().isoformat()}")
        tx.audit(
            actor,
            "request.failed",
            f"party:{name.party_id}",
            {"csr_sha256": name.csr_sha256.hex(), "code": code},
        )
