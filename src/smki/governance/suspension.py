"""Emergency Suspension of the use of given certificates by the SMKI PMA (R-GOV-3, SEC L2.14).

The PMA instructs; an operator records the instruction by naming the PMA decision. Suspending
and lifting are conditional writes with their audit event in the same transaction (R-X-1), so
two operators acting at once cannot both succeed: the second gets ``already-suspended`` or
``not-suspended``. A suspended certificate shows as ``suspended`` in the repository and in the
bulk extracts (R-REP-6); relying-party checks refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from smki.ca.serials import serial_hex
from smki.clock import Clock
from smki.errors import Conflict, InputError, NotFound
from smki.profiles.kinds import Environment
from smki.storage.api import CertificateRow, Store, Transaction

#: A PMA decision is named by its reference (e.g. "PMA-2024-031"), not pasted whole.
MAX_DECISION_CHARS: Final = 200


@dataclass(frozen=True)
class SuspensionChange:
    """What a suspension or a lift did, for the operator's confirmation."""

    certificate_id: int
    serial: int
    issuer: str
    kind: str
    decision: str
    suspension_id: int | None  # the new suspension (suspend); None for a lift


def _decision(text: str) -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_DECISION_CHARS:
        raise InputError(
            f"name the SMKI PMA decision (1 to {MAX_DECISION_CHARS} characters)",
            code="bad-decision",
            rid="R-GOV-3",
        )
    return cleaned


def find_certificate(
    tx: Transaction, env: Environment, serial: int, issuer: str | None
) -> tuple[CertificateRow, str]:
    """The certificate with ``serial`` (and ``issuer``, an authority name) and its issuer's
    name; refused precisely when there is none or more than one."""
    names = {row.id: row.name for row in tx.authorities(env)}
    rows = tx.certificate_by_serial(env, serial)
    if issuer is not None:
        if issuer not in names.values():
            raise NotFound(
                f"no authority of the {env} environment is named {issuer[:40]!r}",
                code="authority-not-found",
                rid="R-GOV-3",
            )
        rows = [row for row in rows if names.get(row.authority_id) == issuer]
    if not rows:
        where = f" issued by {issuer}" if issuer else ""
        raise NotFound(
            f"no certificate with serial {serial_hex(serial)}{where} in the {env} environment",
            code="unknown-certificate",
            rid="R-GOV-3",
        )
    if len(rows) > 1:
        raise Conflict(
            f"serial {serial_hex(serial)} is used by {len(rows)} issuers; name one with --issuer",
            code="ambiguous-serial",
            rid="R-GOV-3",
        )
    row = rows[0]
    return row, names.get(row.authority_id, str(row.authority_id))


def suspend_certificate(
    store: Store,
    clock: Clock,
    env: Environment,
    serial: int,
    issuer: str | None,
    decision: str,
    actor: str,
) -> SuspensionChange:
    """Suspend the use of one certificate on the PMA's ``decision`` (R-GOV-3)."""
    decided = _decision(decision)
    with store.transaction() as tx:
        row, issuer_name = find_certificate(tx, env, serial, issuer)
        if row.status == "revoked":
            raise Conflict(
                f"certificate {serial_hex(serial)} is revoked; a suspension would change nothing",
                code="already-revoked",
                rid="R-GOV-3",
            )
        suspension_id = tx.suspend_certificate(row.id, decided, actor, clock.now())
        if suspension_id is None:
            raise Conflict(
                f"certificate {serial_hex(serial)} is already suspended",
                code="already-suspended",
                rid="R-GOV-3",
            )
        tx.audit(
            actor,
            "certificate.suspended",
            f"certificate:{row.id}",
            {
                "serial": serial_hex(serial),
                "issuer": issuer_name,
                "decision": decided,
                "suspension": suspension_id,
            },
        )
    return SuspensionChange(row.id, serial, issuer_name, row.kind, decided, suspension_id)


def lift_suspension(
    store: Store,
    clock: Clock,
    env: Environment,
    serial: int,
    issuer: str | None,
    decision: str,
    actor: str,
) -> SuspensionChange:
    """Lift the active suspension of one certificate on the PMA's ``decision`` (R-GOV-3)."""
    decided = _decision(decision)
    with store.transaction() as tx:
        row, issuer_name = find_certificate(tx, env, serial, issuer)
        if not tx.lift_suspension(row.id, decided, actor, clock.now()):
            raise Conflict(
                f"certificate {serial_hex(serial)} is not suspended",
                code="not-suspended",
                rid="R-GOV-3",
            )
        tx.audit(
            actor,
            "certificate.suspension-lifted",
            f"certificate:{row.id}",
            {"serial": serial_hex(serial), "issuer": issuer_name, "decision": decided},
        )
    return SuspensionChange(row.id, serial, issuer_name, row.kind, decided, None)
