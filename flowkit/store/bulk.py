"""Writing many rows in one statement.

On PostgreSQL a batch goes as ``INSERT ... SELECT ... FROM jsonb_to_recordset(:rows)``:
one statement and one parameter, the rows as one JSON document, whatever their number.
The server plans once and parses JSON in C; the driver sends no message per row and
escapes nothing per value. (Measured on this project's timer path: psycopg's pipelined
executemany spent most of a batch's time on per-row protocol work, and text arrays
spent it on per-element escaping.) On SQLite, where a statement per row costs no round
trip, it is a plain executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from flowkit._json import encode_column
from flowkit.store.schema import UTCDateTime, naive_utc

Conflict = Literal["error", "ignore", "update"]


def _pg_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.JSON | postgresql.JSONB) or "JSON" in type(kind).__name__:
        return "jsonb"
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return "timestamp"
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
    timestamps = [name for name, kind in kinds.items() if kind == "timestamp"]
    if timestamps:
        # A batch's rows mostly share one moment (its ``now``): each distinct moment is
        # converted once. Keyed by identity, as the rows keep every moment alive.
        texts: dict[int, str] = {}

        def text(moment: Any) -> str | None:
            if moment is None:
                return None
            found = texts.get(id(moment))
            if found is None:
                found = texts[id(moment)] = naive_utc(moment).isoformat()
            return found

        rows = [{**row, **{n: text(row[n]) for n in timestamps}} for row in rows]
    document = encode_column(rows)
    names = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(f'"{c}" {kinds[c]}' for c in columns)
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
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
