"""Migrations (R-X-2): idempotent, safe to race, and exactly the schema of schema.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from smki.storage.engine import make_engine
from smki.storage.migrate import current_revision, head_revision, upgrade
from smki.storage.schema import metadata
from smki.storage.sql import SqlStore
from tests.fixtures.stores import assert_audit_chain_ok
from tests.unit.storage.factories import T0


def _reflect(database_url: str) -> dict[str, dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables: dict[str, dict[str, Any]] = {}
            for name in inspector.get_table_names():
                if name == "alembic_version":
                    continue
                tables[name] = {
                    "columns": {c["name"]: c["nullable"] for c in inspector.get_columns(name)},
                    "pk": inspector.get_pk_constraint(name)["constrained_columns"],
                    "fks": sorted(
                        (
                            tuple(fk["constrained_columns"]),
                            fk["referred_table"],
                            tuple(fk["referred_columns"]),
                        )
                        for fk in inspector.get_foreign_keys(name)
                    ),
                    "uniques": sorted(
                        tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                    ),
                    "indexes": sorted(
                        (tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                        for i in inspector.get_indexes(name)
                        # PostgreSQL also lists the index behind each unique constraint.
                        if "duplicates_constraint" not in i
                    ),
                }
            return tables
    finally:
        engine.dispose()


def _expected() -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for table in metadata.sorted_tables:
        tables[table.name] = {
            "columns": {c.name: c.nullable for c in table.columns},
            "pk": [c.name for c in table.primary_key.columns],
            "fks": sorted(
                (
                    tuple(c.name for c in fk.columns),
                    fk.referred_table.name,
                    tuple(e.column.name for e in fk.elements),
                )
                for fk in table.foreign_key_constraints
            ),
            "uniques": sorted(
                tuple(c.name for c in u.columns)
                for u in table.constraints
                if isinstance(u, sa.UniqueConstraint)
            ),
            "indexes": sorted(
                (tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            ),
        }
    return tables


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    first = _reflect(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision() == "0005"
    assert _reflect(database_url) == first


def test_upgrade_keeps_existing_data(database_url: str) -> None:
    upgrade(database_url, "0001")
    assert current_revision(database_url) == "0001"
    with SqlStore(database_url) as store:
        with store.transaction() as tx:
            root = tx.add_authority("test", "root-oca", "organisation", True, "k", None)
            tx.audit("ceremony", "authority.add", "test/root-oca", {"id": root})
        upgrade(database_url)
        assert current_revision(database_url) == head_revision()
        with store.transaction() as tx:
            assert [a.id for a in tx.authorities()] == [root]
            party = tx.add_party("test", "P", [], [bytes(8)], T0)
            assert tx.party(party) is not None
        assert_audit_chain_ok(store)


def test_0005_counts_the_items_of_existing_batches(database_url: str) -> None:
    # Batches accepted before the counters existed get them from their items (R-SI-2).
    upgrade(database_url, "0004")
    with SqlStore(database_url) as store:
        engine = make_engine(database_url)
        try:
            with engine.begin() as conn:
                ids = _seed_batch_at_0004(conn)
        finally:
            engine.dispose()
        upgrade(database_url)
        with store.transaction() as tx:
            assert tx.batch_counts(ids) == (1, 2, 3)


def _seed_batch_at_0004(conn: sa.Connection) -> str:
    """A batch of six items at revision 0004: one issued, two refused, three open."""
    party = conn.execute(
        sa.text(
            "INSERT INTO parties (env, name, categories, created_at) "
            "VALUES ('test', 'P', '[]', :at) RETURNING id"
        ),
        {"at": T0},
    ).scalar_one()
    officer = conn.execute(
        sa.text(
            "INSERT INTO officers (party_id, kind, name, appointed_at, appointed_by) "
            "VALUES (:party, 'aro', 'A', :at, 'ra') RETURNING id"
        ),
        {"party": party, "at": T0},
    ).scalar_one()
    authority = conn.execute(
        sa.text(
            "INSERT INTO authorities (env, name, pki, is_root, key_label, status, created_at) "
            "VALUES ('test', 'issuing-dca', 'device', false, 'k', 'active', :at) RETURNING id"
        ),
        {"at": T0},
    ).scalar_one()
    certificate = conn.execute(
        sa.text(
            "INSERT INTO certificates (env, authority_id, serial, kind, key_usage, not_before, "
            "not_after, der, status, created_at) VALUES ('test', :ca, :serial, 'device', 'ds', "
            ":at, :at, :der, 'in-use', :at) RETURNING id"
        ),
        {"ca": authority, "serial": "1" * 32, "at": T0, "der": b"0"},
    ).scalar_one()
    conn.execute(
        sa.text(
            "INSERT INTO batches (id, env, party_id, aro_id, state, count, received_at, "
            "deadline) VALUES ('b-1', 'test', :party, :aro, 'issuing', 6, :at, :at)"
        ),
        {"party": party, "aro": officer, "at": T0},
    )
    for idx in range(6):
        conn.execute(
            sa.text(
                "INSERT INTO batch_items (batch_id, idx, csr, certificate_id, error_code) "
                "VALUES ('b-1', :idx, :csr, :certificate, :code)"
            ),
            {
                "idx": idx,
                "csr": b"csr",
                "certificate": certificate if idx == 0 else None,
                "code": "malformed-csr" if idx in (1, 2) else None,
            },
        )
    return "b-1"


def test_concurrent_upgrades_both_succeed(database_url: str) -> None:
    # Several service processes start at once against one database (R-X-2).
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(upgrade, database_url) for _ in range(2)]:
            future.result()
    assert current_revision(database_url) == head_revision()


def test_migrated_schema_equals_metadata(database_url: str) -> None:
    upgrade(database_url)
    assert _reflect(database_url) == _expected()


def test_alembic_finds_no_difference(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
