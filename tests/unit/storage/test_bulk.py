"""``execute_many`` stores exactly what SQLAlchemy's executemany stores (R-SI-2, R-X-2)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from smki.storage import schema as t
from smki.storage.engine import make_engine
from smki.storage.sql_bulk import execute_many
from tests.unit.storage.factories import FOREVER, T0


def _rows(first_serial: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "authority_id": 1,
            "serial": first_serial + n,
            "kind": "device",
            "tbs_sha256": bytes([n % 256]) * 32,
            "state": "pending",
            "created_at": T0,
            "finished_at": FOREVER if n % 3 == 0 else None,
        }
        for n in range(count)
    ]


def test_rows_are_stored_as_sqlalchemy_stores_them(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            t.metadata.create_all(conn, tables=[t.authorities, t.issuance_intents])
            conn.execute(
                t.authorities.insert().values(
                    id=1,
                    env="test",
                    name="issuing-dca",
                    pki="device",
                    is_root=False,
                    key_label="k",
                    status="active",
                    created_at=T0,
                )
            )
            conn.execute(t.issuance_intents.insert(), _rows(0x1000, 40))
            assert execute_many(conn, t.issuance_intents.insert(), _rows(0x2000, 40)) == 40
            # The raw stored values, not read back through the column types.
            raw = conn.exec_driver_sql(
                "SELECT serial, kind, tbs_sha256, state, created_at, finished_at "
                "FROM issuance_intents ORDER BY id"
            ).all()
            i = t.issuance_intents
            typed = conn.execute(sa.select(i.c.serial, i.c.created_at).order_by(i.c.id)).all()
            updated = execute_many(
                conn,
                i.update()
                .where(i.c.serial == sa.bindparam("b_serial"), i.c.state == "pending")
                .values(state=sa.bindparam("b_state")),
                [{"b_serial": s, "b_state": "done"} for s in (0x1000, 0x2001, 0x2001, 0x9999)],
            )
    finally:
        engine.dispose()
    ours, theirs = raw[40:], raw[:40]
    assert [r[1:] for r in ours] == [r[1:] for r in theirs]
    assert [int(r[0], 16) - 0x2000 for r in ours] == [int(r[0], 16) - 0x1000 for r in theirs]
    assert [r.serial for r in typed] == [*range(0x1000, 0x1000 + 40), *range(0x2000, 0x2000 + 40)]
    assert {r.created_at for r in typed} == {T0}
    assert updated == 2  # summed rowcount: a row already done is not counted twice
