"""Writing many rows in one statement.

On PostgreSQL a batch goes as ``INSERT ... SELECT ... FROM jsonb_to_recordset(:rows)``:
one statement and one parameter, the rows as one JSON document, whatever their number.
The server plans once and parses JSON in C; the driver sends no message per row and
escapes nothing per value. (Measured on this project's timer path: psycopg's pipelined
executemany spent most of a batch's time on per-row protocol work, and text arrays
spent it on per-element escaping; ``COPY`` saved the server a quarter of a row's cost
and spent as much again in Python.) Moments go in the document as orjson writes them,
ISO 8601 with their offset, and the server turns them into the naive UTC the tables
keep. On SQLite, where a statement per row costs no round trip, it is a plain
executemany.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from flowkit.store.schema import UTCDateTime, naive_utc

Conflict = Literal["error", "ignore", "update"]


def _pg_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.JSON | postgresql.JSONB) or "JSON" in type(kind).__name__:
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
                returning: str | None = None) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) into ``table``.

    ``conflict``: on a primary-key or unique clash, fail ("error"), skip the row
    ("ignore"), or overwrite every column but the key and ``keep`` ("update").
    ``returning``: a column whose values for the inserted rows are returned.
    """
    if not rows:
        return []
    columns = list(rows[0])
    key = [c.name for c in table.primary_key.columns]
    if conn.dialect.name == "postgresql":
        return _pg_insert(conn, table, rows, columns, key, conflict, keep, returning)
    insert: Any = sqlite.insert(table)
    if conflict == "ignore":
        insert = insert.on_conflict_do_nothing()
    elif conflict == "update":
        insert = insert.on_conflict_do_update(
            index_elements=key,
            set_={c: insert.excluded[c] for c in columns if c not in key and c not in keep})
    if returning is None:
        conn.execute(insert, list(rows))
        return []
    result = conn.execute(insert.returning(table.c[returning]), list(rows))
    return [r[0] for r in result]


def _pg_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]],
               columns: list[str], key: list[str], conflict: Conflict, keep: Sequence[str],
               returning: str | None) -> list[Any]:
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
    if conflict == "ignore":
        sql += " ON CONFLICT DO NOTHING"
    elif conflict == "update":
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns
                            if c not in key and c not in keep)
        sql += f' ON CONFLICT ({", ".join(key)}) DO UPDATE SET {updates}'
    if returning is not None:
        sql += f' RETURNING "{returning}"'
        return [r[0] for r in conn.execute(sa.text(sql), {"rows": document})]
    conn.execute(sa.text(sql), {"rows": document})
    return []


def _document(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one JSON document, in C (orjson), moments with their offset; rows
    orjson refuses (an int past 64 bits) go through ``json``."""
    # orjson writes plain datetimes but not pendulum's, which it hands to ``default``.
    # A batch's rows mostly share one moment (its ``now``): each is written once, the
    # memo keyed by identity, as the rows keep every moment alive.
    texts: dict[int, str] = {}

    def moment(value: object) -> str:
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{type(value).__name__} is not JSON")
        text = texts.get(id(value))
        if text is None:
            text = texts[id(value)] = dt.datetime.isoformat(value)  # in C
        return text

    try:
        return orjson.dumps(rows, default=moment, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=moment)
