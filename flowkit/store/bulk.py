"""Writing many rows in one statement.

A batch goes as ``INSERT ... SELECT ... FROM`` the rows as one JSON document: one
statement and one parameter, whatever their number. The database parses the JSON in C,
and SQLAlchemy does no work per row (it had: building and processing each row's
parameters was a fifth of a SQLite batch's time).

On PostgreSQL the document is read with ``jsonb_to_recordset``, and the driver sends no
message per row and escapes nothing per value. (Measured on this project's timer path:
psycopg's pipelined executemany spent most of a batch's time on per-row protocol work,
and text arrays spent it on per-element escaping; ``COPY`` saved the server a quarter
of a row's cost and spent as much again in Python.) Moments go in the document as
orjson writes them, ISO 8601 with their offset, and the server turns them into the
naive UTC the tables keep.

On SQLite it is read with ``json_each`` and ``json_extract``, and each value goes in
the document as the text the column would have stored: a moment as SQLAlchemy's
SQLite ``DATETIME`` text of its naive UTC, a JSON column's value already encoded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs
import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from flowkit import _json
from flowkit.store.schema import UTCDateTime, naive_utc

Conflict = Literal["error", "ignore", "update"]


def _pg_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if _is_json(column):
        return "jsonb"
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return "timestamptz"  # read with its offset, stored as naive UTC (_pg_insert)
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.Integer):
        return "bigint"
    if isinstance(kind, sa.Float):
        return "double precision"
    if isinstance(kind, sa.Numeric):
        return "numeric"
    return "text"


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *,
                conflict: Conflict = "error", keep: Sequence[str] = (),
                bump: str | None = None, returning: str | None = None) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) into ``table``.

    ``conflict``: on a primary-key or unique clash, fail ("error"), skip the row
    ("ignore"), or overwrite every column but the key and ``keep`` ("update"), and
    add one to the stored value of the column ``bump``.
    ``returning``: a column whose values for the inserted rows are returned.
    """
    if not rows:
        return []
    columns = list(rows[0])
    key = [c.name for c in table.primary_key.columns]
    upsert = _Upsert(table.name, key, conflict, keep, bump, returning)
    if conn.dialect.name == "postgresql":
        return _pg_insert(conn, table, rows, columns, upsert)
    return _sqlite_insert(conn, table, rows, columns, upsert)


@attrs.frozen
class _Upsert:
    """What to do on a clash, and what to return (``insert_rows``'s arguments)."""

    table: str
    key: list[str]
    conflict: Conflict
    keep: Sequence[str]
    bump: str | None
    returning: str | None


def _upsert(sql: str, columns: list[str], how: _Upsert) -> str:
    key, returning = how.key, how.returning
    if how.conflict == "ignore":
        sql += " ON CONFLICT DO NOTHING"
    elif how.conflict == "update":
        updates = ", ".join(f'"{c}" = "{how.table}"."{c}" + 1' if c == how.bump
                            else f'"{c}" = excluded."{c}"' for c in columns
                            if c not in key and c not in how.keep)
        sql += f' ON CONFLICT ({", ".join(key)}) DO UPDATE SET {updates}'
    if returning is not None:
        sql += f' RETURNING "{returning}"'
    return sql


def _run(conn: sa.Connection, sql: str, document: str, returning: str | None) -> list[Any]:
    result = conn.execute(sa.text(sql), {"rows": document})
    return [r[0] for r in result] if returning is not None else []


def _is_json(column: sa.Column[Any]) -> bool:
    kind = column.type
    return isinstance(kind, sa.JSON | postgresql.JSONB) or "JSON" in type(kind).__name__


def _pg_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]],
               columns: list[str], how: _Upsert) -> list[Any]:
    kinds = {name: _pg_type(table.c[name]) for name in columns}
    moments = [name for name, kind in kinds.items() if kind == "timestamptz"]
    for row in rows:
        for name in moments:
            moment = row[name]
            if moment is not None and moment.tzinfo is None:
                naive_utc(moment)  # raises, as the column does on every database
    document = _document(rows)
    names = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(f'"{c}" {kinds[c]}' for c in columns)
    values = ", ".join(f'("{c}" AT TIME ZONE \'UTC\')' if c in moments else f'"{c}"'
                       for c in columns)
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {values} '
           f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x({record})")
    return _run(conn, _upsert(sql, columns, how), document, how.returning)


def _sqlite_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]],
                   columns: list[str], how: _Upsert) -> list[Any]:
    encoded = [c for c in columns if _is_json(table.c[c])]
    if encoded:
        encode = _json.encode_column
        rows = [{**row, **{c: encode(row[c]) for c in encoded}} for row in rows]
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f"json_extract(x.value, '$.\"{c}\"')" for c in columns)
    # WHERE true: without it SQLite would read ON CONFLICT as a join's ON
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {values} '
           "FROM json_each(:rows) AS x WHERE true")
    return _run(conn, _upsert(sql, columns, how), _document(rows, _sqlite_moment),
                how.returning)


_SQLITE_DATETIME = sqlite.DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]


def _sqlite_moment(value: dt.datetime) -> str:
    """A moment as SQLAlchemy's SQLite DATETIME stores it, in naive UTC."""
    assert _SQLITE_DATETIME is not None
    return str(_SQLITE_DATETIME(naive_utc(value)))


def _document(rows: Sequence[dict[str, Any]],
              write: Callable[[dt.datetime], str] = dt.datetime.isoformat) -> str:
    """The rows as one JSON document, in C (orjson), each moment as ``write`` gives
    it (by default ISO 8601 with its offset, in C); rows orjson refuses (an int past
    64 bits) go through ``json``."""
    # Every datetime goes to ``default`` (orjson would write plain ones itself). A
    # batch's rows mostly share one moment (its ``now``): each is written once, the
    # memo keyed by identity, as the rows keep every moment alive.
    texts: dict[int, str] = {}

    def moment(value: object) -> str:
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{type(value).__name__} is not JSON")
        text = texts.get(id(value))
        if text is None:
            text = texts[id(value)] = write(value)
        return text

    options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    try:
        return orjson.dumps(rows, default=moment, option=options).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=moment)
