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
    assert current_revision(database_url) == head_revision() == "0004"
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
