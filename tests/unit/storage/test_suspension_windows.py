"""Suspensions by time, for bulk extracts, on SQLite and PostgreSQL (R-REP-6, R-GOV-3)."""

from __future__ import annotations

import datetime as dt

from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate


def _hours(n: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def _seed(store: SqlStore) -> list[int]:
    """Three certificates: one suspended at 1 and lifted at 3, one suspended at 2, one never;
    one of another environment suspended at 2."""
    with store.transaction() as tx:
        ca = add_ca(tx)
        other = add_ca(tx, env="live")
        ids = tx.add_certificates([new_certificate(ca, 0x21 + n) for n in range(3)], T0)
        (live,) = tx.add_certificates([new_certificate(other, 0x31)], T0)
        assert tx.suspend_certificate(ids[0], "PMA-1", "pma", _hours(1)) is not None
        assert tx.suspend_certificate(ids[1], "PMA-2", "pma", _hours(2)) is not None
        assert tx.suspend_certificate(live, "PMA-L", "pma", _hours(2)) is not None
        assert tx.lift_suspension(ids[0], "PMA-3", "pma", _hours(3))
    return ids


def test_active_suspensions_at_a_moment(store: SqlStore) -> None:
    ids = _seed(store)
    with store.reading() as tx:
        assert tx.active_suspensions("test", _hours(1)) == []  # made at 1: not before 1
        at_two = tx.active_suspensions("test", _hours(2) + dt.timedelta(seconds=1))
        assert [(c.id, s.decision) for c, s in at_two] == [(ids[0], "PMA-1"), (ids[1], "PMA-2")]
        at_four = tx.active_suspensions("test", _hours(4))
        assert [(c.id, s.decision, c.serial) for c, s in at_four] == [(ids[1], "PMA-2", 0x22)]
        assert [s.decision for _, s in tx.active_suspensions("live", _hours(4))] == ["PMA-L"]


def test_changes_in_a_window_count_suspensions_and_lifts(store: SqlStore) -> None:
    ids = _seed(store)
    with store.reading() as tx:
        early = tx.suspension_changes("test", _hours(0), _hours(2))
        assert [c.id for c, _ in early] == [ids[0]]
        late = tx.suspension_changes("test", _hours(3), _hours(4))
        ((certificate, suspension),) = late
        assert certificate.id == ids[0]
        assert suspension.lift_decision == "PMA-3" and suspension.lifted_at == _hours(3)
        assert [c.id for c, _ in tx.suspension_changes("test", None, _hours(4))] == ids[:2]
        assert tx.suspension_changes("test", _hours(4), _hours(5)) == []
