"""Prebuilt statements run on the driver's cursor, in the caller's transaction (R-PERF-1).

The statements every single-CSR request runs (the token, the party, the officers, meta, the
audit head) are module constants, and the database does each in microseconds; SQLAlchemy's
per-execution work (cache key, parameter processing, the result machinery) costs several
times that, and on SQLite the writer pays it while holding the write lock. Here such a statement
is compiled once per database and set of parameter names, with its parameters' and columns'
type converters, and run on the connection's own cursor: the SQL text, the values written and
the rows read are those SQLAlchemy would have used, only the machinery around them is gone.

``point_reads`` compiles its look-ups here too and runs them on a connection of its own.

``run_prebuilt`` is only for statements built once (module constants): its cache is keyed by the
statement's identity. Driver errors are raised as SQLAlchemy raises them, so
``translated_errors`` turns them into smki errors as for any statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None


class RawStatement:
    """One statement compiled for one database, with its converters."""

    def __init__(self, stmt: sa.ClauseElement, dialect: sa.Dialect, keys: Sequence[str]) -> None:
        compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=list(keys)))
        self.sql = compiled.string
        self._positional = dialect.positional
        if compiled.escaped_bind_names:  # pragma: no cover - no such names in smki
            raise ValueError("a prebuilt statement's parameter names need no escaping")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Column defaults computed in Python are SQLAlchemy's to fill in: not here.
            raise ValueError("a prebuilt statement must not rely on Python-side column defaults")
        names = list(compiled.positiontup or ()) if dialect.positional else list(compiled.binds)
        # Per placeholder: its name, the caller's key for it, its converter, and the value the
        # statement carries itself (a literal in a WHERE), used when the caller gives none.
        self._slots: list[tuple[str, str, _Processor, Any, bool]] = []
        for name in names:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._slots.append((name, bind.key, process, bind.effective_value, bind.required))
        columns = list(getattr(stmt, "exported_columns", ()) or ())
        self._results: list[_Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._row_type = namedtuple("_Row", [column.key for column in columns]) if columns else None
        self._error = dialect.loaded_dbapi.Error

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for ``values``, as ``construct_params`` and the bind
        processors would make them."""
        converted: list[tuple[str, Any]] = []
        for name, key, process, carried, required in self._slots:
            if key in values:
                value = values[key]
            elif required:
                raise sa_exc.ArgumentError(f"a value is required for parameter {key!r}")
            else:
                value = carried
            converted.append((name, value if process is None or value is None else process(value)))
        if self._positional:
            return [value for _, value in converted]
        return dict(converted)

    def run(
        self, dbapi_connection: Any, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> RawResult:
        """Execute on ``dbapi_connection`` (one parameter set, or several: executemany)."""
        many = not isinstance(values, Mapping)
        try:
            parameters: Any = (
                self.parameters(values)
                if isinstance(values, Mapping)
                else [self.parameters(v) for v in values]
            )
        except Exception as error:  # a value a converter refused, as SQLAlchemy wraps it
            raise sa_exc.StatementError(
                "a parameter could not be converted", self.sql, None, error, hide_parameters=True
            ) from error
        cursor = dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(self.sql, parameters)
            else:
                cursor.execute(self.sql, parameters)
            rows = cursor.fetchall() if self._row_type is not None else []
            return RawResult([self.row(raw) for raw in rows], cursor.rowcount)
        except self._error as error:
            raise sa_exc.DBAPIError.instance(self.sql, parameters, error, self._error) from error
        finally:
            cursor.close()

    def row(self, raw: Sequence[Any]) -> Any:
        """A row the driver returned, its values converted as SQLAlchemy would, by name."""
        assert self._row_type is not None
        return self._row_type(
            *(
                v if p is None or v is None else p(v)
                for v, p in zip(raw, self._results, strict=True)
            )
        )


class RawResult:
    """What the callers of a prebuilt statement read: its rows and its row count."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return self._rows


_compiled: dict[tuple[int, str, tuple[str, ...]], tuple[sa.Executable, RawStatement]] = {}


def run_prebuilt(
    conn: sa.Connection,
    stmt: sa.Executable,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> RawResult:
    """Run ``stmt`` (a module constant) with ``values`` in ``conn``'s transaction."""
    dialect = conn.dialect
    first = values if isinstance(values, Mapping) else values[0]
    keys = tuple(sorted(first))
    key = (id(stmt), dialect.name, keys)
    found = _compiled.get(key)
    if found is None or found[0] is not stmt:
        found = _compiled[key] = (stmt, RawStatement(cast(sa.ClauseElement, stmt), dialect, keys))
    return found[1].run(conn.connection.dbapi_connection, values)
