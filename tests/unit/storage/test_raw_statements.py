"""Prebuilt statements on the driver's cursor (storage/raw_statements) give what SQLAlchemy
gives for the same statement and values, on SQLite and PostgreSQL, and fail as it fails."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from smki.errors import Conflict
from smki.storage import schema as t
from smki.storage.engine import make_engine, translated_errors
from smki.storage.raw_statements import run_prebuilt
from smki.storage.sql import SqlStore
from smki.storage.sql_issuance import _FINISH_INTENTS, _FOR_ONE, _LOCK_INTENTS, _SERIAL_USED
from tests.unit.storage.factories import T0, add_ca

_META = sa.select(t.meta.c.key, t.meta.c.value).where(t.meta.c.key == sa.bindparam("key"))
_INTENT = sa.select(t.issuance_intents).where(t.issuance_intents.c.id == sa.bindparam("id"))
_INSERT_META = t.meta.insert()


def _one_key(stmt: sa.Executable) -> sa.Executable:
    return _FOR_ONE[id(stmt)][0]


def test_rows_and_counts_are_sqlalchemys(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        (intent_id,) = tx.reserve_intents(ca, [(0x10 << 120 | 7, "device", b"\x01" * 32)], T0)
    engine = make_engine(store.url)
    try:
        with engine.begin() as conn:
            run_prebuilt(
                conn, _INSERT_META, [{"key": "k1", "value": "v1"}, {"key": "k2", "value": "v2"}]
            )
            raw = run_prebuilt(conn, _META, {"key": "k2"}).all()
            assert [tuple(r) for r in raw] == [tuple(r) for r in conn.execute(_META, {"key": "k2"})]
            assert raw[0].value == "v2"
            # Types both ways: datetimes, bytes and the big serial as the store keeps them.
            raw_intent = run_prebuilt(conn, _INTENT, {"id": intent_id}).first()
            sa_intent = conn.execute(_INTENT, {"id": intent_id}).first()
            assert raw_intent is not None and sa_intent is not None
            assert tuple(raw_intent) == tuple(sa_intent)
            assert raw_intent.created_at == T0 and raw_intent.serial == 0x10 << 120 | 7
            # A statement over a list of keys, in its one-key form (a literal in its WHERE).
            locked = run_prebuilt(conn, _one_key(_LOCK_INTENTS), {"ids": intent_id}).all()
            assert [tuple(r) for r in locked] == [
                tuple(r) for r in conn.execute(_LOCK_INTENTS, {"ids": [intent_id]})
            ]
            used = run_prebuilt(
                conn, _one_key(_SERIAL_USED), {"authority_id": ca, "serials": 0x10 << 120 | 7}
            ).all()
            assert len(used) == 1
            finished = run_prebuilt(
                conn,
                _one_key(_FINISH_INTENTS),
                {"ids": intent_id, "new_state": "done", "at": T0 + dt.timedelta(seconds=1)},
            )
            assert finished.rowcount == 1
            again = run_prebuilt(
                conn,
                _one_key(_FINISH_INTENTS),
                {"ids": intent_id, "new_state": "done", "at": T0},
            )
            assert again.rowcount == 0  # only a pending intent is finished
    finally:
        engine.dispose()


def test_driver_errors_are_translated_as_sqlalchemys(store: SqlStore) -> None:
    engine = make_engine(store.url)
    try:
        with engine.begin() as conn:
            run_prebuilt(conn, _INSERT_META, {"key": "same", "value": "1"})
            with pytest.raises(Conflict) as duplicate, translated_errors():
                run_prebuilt(conn, _INSERT_META, {"key": "same", "value": "2"})
            assert duplicate.value.code == "duplicate"
            conn.rollback()
    finally:
        engine.dispose()


def test_a_statement_relying_on_python_side_defaults_is_refused(store: SqlStore) -> None:
    """Such a default is SQLAlchemy's to compute; the cursor path would silently skip it."""
    table = sa.Table(
        "defaults_example",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.String, default="filled in"),
    )
    engine = make_engine(store.url)
    try:
        with engine.begin() as conn, pytest.raises(ValueError):
            run_prebuilt(conn, table.insert(), {"id": 1})
    finally:
        engine.dispose()
