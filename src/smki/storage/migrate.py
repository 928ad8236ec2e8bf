"""Schema migrations (R-X-2), run in code: no alembic.ini is needed at runtime.

``upgrade`` brings a database to the newest revision and does nothing if it is already there.
Several service processes may start at once against one PostgreSQL database, so the whole run
happens in one transaction holding a lock: an advisory lock on PostgreSQL, SQLite's write lock
(``BEGIN IMMEDIATE``) on SQLite. The second process then finds the work done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from smki.storage.engine import make_engine, translated_errors

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant shared by every smki process: "smki" in ASCII.
_PG_LOCK_KEY: Final = 0x736D6B69


def alembic_config() -> Config:
    """An alembic configuration pointing at the migrations shipped inside the package."""
    cfg = Config()
    # configparser interpolates '%', which may appear in an installation path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    return cfg


def head_revision() -> str | None:
    """The newest revision shipped with this version of smki."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine_url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = make_engine(engine_url)
    try:
        with translated_errors(), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(engine_url: str, revision: str = "head") -> None:
    """Bring the database at ``engine_url`` to ``revision`` (the newest by default); idempotent.

    An older ``revision`` is for tests that upgrade a database holding data.
    """
    engine = make_engine(engine_url)
    try:
        with translated_errors(), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
