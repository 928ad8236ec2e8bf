"""executemany for the bulk writes of batches (R-SI-2), without SQLAlchemy's per-row work.

SQLAlchemy's ``Connection.execute(stmt, rows)`` builds a parameter dictionary for every row
and runs every value through its column type's bind processor. For a chunk of a 50,000-CSR
batch that is most of the parent process's time, and the values repeat: every certificate of a
chunk has the same notBefore, notAfter and creation time. ``execute_many`` compiles the
statement once for the connection's dialect, applies the same bind processors (so the stored
values are exactly what SQLAlchemy would store), remembers the processed form of values that
repeat (datetimes, ids, short strings), and hands the driver one ``executemany``. Errors pass
through ``translated_errors`` like every other statement.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa

from smki.storage.engine import translated_errors

#: Values worth remembering once processed: they repeat across the rows of a chunk.
_REPEATING: Final = (dt.datetime, str, int)
_MEMO_LIMIT: Final = 4096


def _processor(bind: sa.BindParameter[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    # The dialect's own implementation of the type, as SQLAlchemy's execute uses it: the
    # generic one would leave SQLite's datetime format to the driver.
    impl = bind.type.dialect_impl(dialect)
    if isinstance(impl, sa.LargeBinary) and dialect.name == "sqlite":
        # Its processor wraps bytes in sqlite3.Binary (a memoryview): the same BLOB.
        return _blob
    return impl.bind_processor(dialect)


def _blob(value: Any) -> Any:
    return value if isinstance(value, bytes) else sqlite3.Binary(value)


def processed_constant(bind: sa.BindParameter[Any], dialect: sa.Dialect) -> Any:
    process = _processor(bind, dialect)
    value = bind.effective_value
    return value if process is None or value is None else process(value)


def execute_many(
    conn: sa.Connection, stmt: sa.Insert | sa.Update, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run ``stmt`` once per row (all rows with the same keys); the summed rowcount."""
    if not rows:
        return 0
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
    binds = compiled.binds
    names = list(compiled.positiontup or []) if compiled.positional else list(binds)
    processors: list[Callable[[Any], Any] | None] = [
        _processor(binds[name], dialect) for name in names
    ]
    # A bound value that no row carries is a constant of the statement (``state = 'pending'``).
    constants = {
        i: processed_constant(binds[name], dialect)
        for i, name in enumerate(names)
        if binds[name].key not in rows[0]
    }
    sources = [(i, binds[name].key) for i, name in enumerate(names) if i not in constants]
    memo: dict[tuple[int, Any], Any] = {}

    def processed(position: int, value: Any) -> Any:
        process = processors[position]
        if process is None or value is None:
            return value
        if not isinstance(value, _REPEATING) or isinstance(value, bool):
            return process(value)
        key = (position, value)
        found = memo.get(key, memo)
        if found is memo:
            found = process(value)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = found
        return found

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = [None] * len(names)
        for i, value in constants.items():
            out[i] = value
        for i, source in sources:
            out[i] = processed(i, row[source])
        return out

    params: list[Any]
    if compiled.positional:
        params = [tuple(values(row)) for row in rows]
    else:
        params = [dict(zip(names, values(row), strict=True)) for row in rows]
    with translated_errors():
        result = conn.exec_driver_sql(compiled.string, params)
    return int(result.rowcount)
