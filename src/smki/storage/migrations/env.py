"""Alembic environment for smki (R-X-2).

``smki.storage.migrate.upgrade`` hands over an open connection, already inside a transaction
and holding the migration lock, through ``config.attributes["connection"]``; running alembic
any other way (e.g. the ``alembic`` command line with no such connection) is refused rather
than guessed at.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from smki.storage.schema import metadata

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("smki migrations run through smki.storage.migrate.upgrade()")

context.configure(
    connection=_connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=_connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
