"""Emergency Suspension of certificates on a PMA decision (R-GOV-3), on SQLite and PostgreSQL.

Each change is written with its audit event in one transaction; a refusal changes nothing,
not even the audit log.
"""

from __future__ import annotations

import pytest

from smki.clock import FixedClock
from smki.errors import Conflict, InputError, NotFound, SmkiError
from smki.governance.suspension import lift_suspension, suspend_certificate
from smki.profiles.kinds import Environment
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate

ENV = Environment.TEST


def _seed(store: SqlStore) -> dict[str, int]:
    with store.transaction() as tx:
        oca = add_ca(tx, "issuing-oca")
        dca = add_ca(tx, "issuing-dca")
        ids = tx.add_certificates(
            [
                new_certificate(oca, 0x41, kind="organisation"),
                new_certificate(oca, 0x42, kind="organisation"),
                new_certificate(oca, 0x43),
                new_certificate(dca, 0x43),  # the same serial from another issuer
            ],
            T0,
        )
        tx.revoke(ids[1], "keyCompromise", T0)
    return {"plain": ids[0], "revoked": ids[1], "shared-oca": ids[2], "shared-dca": ids[3]}


def _events(store: SqlStore) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.action, e.subject, e.details) for e in store.audit_events()]


def test_suspend_then_lift_are_audited(store: SqlStore) -> None:
    ids = _seed(store)
    clock = FixedClock(T0)
    change = suspend_certificate(store, clock, ENV, 0x41, None, " PMA-2025-007 ", "pma:chair")
    assert (change.issuer, change.kind, change.decision) == (
        "issuing-oca",
        "organisation",
        "PMA-2025-007",
    )
    with store.reading() as tx:
        assert tx.suspended_ids([ids["plain"]]) == {ids["plain"]}
    assert _events(store)[-1] == (
        "certificate.suspended",
        f"certificate:{ids['plain']}",
        {
            "serial": "41",
            "issuer": "issuing-oca",
            "decision": "PMA-2025-007",
            "suspension": change.suspension_id,
        },
    )
    lift_suspension(store, clock, ENV, 0x41, "issuing-oca", "PMA-2025-008", "pma:chair")
    with store.reading() as tx:
        assert tx.suspended_ids([ids["plain"]]) == set()
        (record,) = tx.suspensions(ids["plain"])
    assert record.decision == "PMA-2025-007" and record.lift_decision == "PMA-2025-008"
    assert record.suspended_by == record.lifted_by == "pma:chair"
    assert _events(store)[-1][0] == "certificate.suspension-lifted"


@pytest.mark.parametrize(
    ("serial", "issuer", "decision", "family", "code"),
    [
        (0x41, None, "  ", InputError, "bad-decision"),
        (0x41, None, "x" * 201, InputError, "bad-decision"),
        (0x99, None, "PMA-1", NotFound, "unknown-certificate"),
        (0x41, "issuing-dca", "PMA-1", NotFound, "unknown-certificate"),
        (0x41, "no-such-ca", "PMA-1", NotFound, "authority-not-found"),
        (0x43, None, "PMA-1", Conflict, "ambiguous-serial"),
        (0x42, None, "PMA-1", Conflict, "already-revoked"),
    ],
)
def test_refusals_change_nothing(
    store: SqlStore,
    serial: int,
    issuer: str | None,
    decision: str,
    family: type[SmkiError],
    code: str,
) -> None:
    _seed(store)
    before = _events(store)
    with pytest.raises(family) as refused:
        suspend_certificate(store, FixedClock(T0), ENV, serial, issuer, decision, "pma")
    assert refused.value.code == code and refused.value.rid == "R-GOV-3"
    assert _events(store) == before
    with store.reading() as tx:
        assert tx.active_suspensions(ENV, T0.replace(year=T0.year + 1)) == []


def test_suspended_twice_and_lifted_twice_are_refused(store: SqlStore) -> None:
    ids = _seed(store)
    clock = FixedClock(T0)
    suspend_certificate(store, clock, ENV, 0x43, "issuing-dca", "PMA-1", "pma")
    before = _events(store)
    with pytest.raises(Conflict) as twice:
        suspend_certificate(store, clock, ENV, 0x43, "issuing-dca", "PMA-2", "pma")
    assert twice.value.code == "already-suspended"
    # The other issuer's certificate with the same serial is untouched.
    with store.reading() as tx:
        assert tx.suspended_ids([ids["shared-oca"], ids["shared-dca"]]) == {ids["shared-dca"]}
    lift_suspension(store, clock, ENV, 0x43, "issuing-dca", "PMA-3", "pma")
    with pytest.raises(Conflict) as not_suspended:
        lift_suspension(store, clock, ENV, 0x43, "issuing-dca", "PMA-4", "pma")
    assert not_suspended.value.code == "not-suspended"
    assert [e[0] for e in _events(store)[len(before) :]] == ["certificate.suspension-lifted"]
