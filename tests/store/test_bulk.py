"""``insert_rows``: a batch's rows in one statement keep their moments and values exactly,
on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
import sqlalchemy as sa

from flowkit.store import database
from flowkit.store import schema as t
from flowkit.store.bulk import insert_rows


@pytest.fixture
def db(database_url: str) -> sa.Engine:
    engine = database.create_engine(database_url)
    database.ensure_schema(engine, migrate=True)
    if engine.dialect.name == "postgresql":
        # a server whose own time zone is not UTC must not shift what is stored
        @sa.event.listens_for(engine, "connect")
        def _zone(dbapi_connection: object, _record: object) -> None:
            with dbapi_connection.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
        engine.dispose()
    return engine


def _history(db: sa.Engine) -> list[tuple[str, pendulum.DateTime, object]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.history.c.run_id, t.history.c.at, t.history.c.entries)
                            .order_by(t.history.c.run_id))
        return [(r[0], r[1], r[2]) for r in rows]


def test_moments_in_any_zone_are_stored_as_the_same_instant_in_utc(db: sa.Engine) -> None:
    paris = pendulum.datetime(2026, 7, 2, 9, 30, 0, 123, tz="Europe/Paris")  # UTC+2
    new_york = dt.datetime(2026, 1, 5, 8, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    utc = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
    with db.begin() as conn:
        insert_rows(conn, t.history, [
            {"run_id": "a", "at": paris, "entries": []},
            {"run_id": "b", "at": new_york, "entries": []},
            {"run_id": "c", "at": utc, "entries": []},
            {"run_id": "d", "at": utc, "entries": []},  # the same moment twice in a batch
        ])
    assert [(r, at.isoformat()) for r, at, _ in _history(db)] == [
        ("a", "2026-07-02T07:30:00.000123+00:00"), ("b", "2026-01-05T13:00:00+00:00"),
        ("c", "2026-03-02T09:00:00+00:00"), ("d", "2026-03-02T09:00:00+00:00")]


def test_a_naive_moment_is_refused_rather_than_guessed(db: sa.Engine) -> None:
    with db.begin() as conn, pytest.raises((ValueError, sa.exc.StatementError),
                                           match="naive datetime"):
        insert_rows(conn, t.history, [
            {"run_id": "a", "at": dt.datetime(2026, 3, 2, 9), "entries": []}])


def test_a_row_with_an_int_past_64_bits_keeps_it_and_its_moment(db: sa.Engine) -> None:
    at = pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris")
    with db.begin() as conn:
        insert_rows(conn, t.history, [{"run_id": "a", "at": at, "entries": [2**70]}])
    [(_, stored, entries)] = _history(db)
    assert stored == at and entries == [2**70]


def test_a_row_without_a_moment_stores_null(db: sa.Engine) -> None:
    at = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
    with db.begin() as conn:
        insert_rows(conn, t.api_keys, [
            {"name": "live", "hash": "a" * 64, "prefix": "fk_a", "created_at": at,
             "revoked_at": None}])
        row = conn.execute(sa.select(t.api_keys.c.created_at, t.api_keys.c.revoked_at)).one()
    assert (row.created_at, row.revoked_at) == (at, None)


def test_ignore_skips_rows_whose_key_is_taken_and_returns_only_the_new(
        db: sa.Engine) -> None:
    at = pendulum.datetime(2026, 3, 2, 9, tz="UTC")

    def event(key: str, name: str) -> dict[str, object]:
        return {"key": key, "name": name, "user_id": "u", "payload": {}, "at": at,
                "shard": 0}

    with db.begin() as conn:
        assert insert_rows(conn, t.events, [event("a", "first")], returning="key") == ["a"]
        new = insert_rows(conn, t.events, [event("a", "again"), event("b", "second")],
                          conflict="ignore", returning="key")
        names = dict(conn.execute(sa.select(t.events.c.key, t.events.c.name)).all())
    assert new == ["b"]
    assert names == {"a": "first", "b": "second"}


def test_update_overwrites_all_but_the_key_and_the_columns_kept(db: sa.Engine) -> None:
    def user(name: str, timezone: str) -> dict[str, object]:
        return {"id": "u1", "name": name, "timezone": timezone, "fields": {"n": name}}

    with db.begin() as conn:
        insert_rows(conn, t.users, [user("Ada", "UTC")])
        insert_rows(conn, t.users, [user("Grace", "Europe/Paris")], conflict="update",
                    keep=("timezone",))
        row = conn.execute(sa.select(t.users.c.name, t.users.c.timezone, t.users.c.fields)
                           ).one()
    assert (row.name, row.timezone, row.fields) == ("Grace", "UTC", {"n": "Grace"})


def test_a_plain_datetime_column_also_stores_the_instant_in_utc(db: sa.Engine) -> None:
    table = sa.Table("bulk_plain_moments", sa.MetaData(),
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", sa.DateTime))
    table.create(db)
    try:
        with db.begin() as conn:
            insert_rows(conn, table, [
                {"id": 1, "at": pendulum.datetime(2026, 7, 2, 9, 30, tz="Europe/Paris")}])
            stored = conn.execute(sa.select(table.c.at)).scalar_one()
        assert stored == dt.datetime(2026, 7, 2, 7, 30)  # naive UTC
    finally:
        table.drop(db)


def _stored(conn: sa.Connection, table: sa.Table) -> list[tuple[object, ...]]:
    """Each row's columns as SQLite keeps them: type and literal, unconverted."""
    columns = ", ".join(f'typeof("{c.name}"), quote("{c.name}")' for c in table.columns)
    return [tuple(r) for r in conn.exec_driver_sql(
        f'SELECT {columns} FROM "{table.name}" ORDER BY "id"')]


def test_rows_read_back_as_sqlalchemys_own_insert_gives_them(db: sa.Engine) -> None:
    """On SQLite, stored byte for byte as SQLAlchemy stores them: queries compare
    moments and JSON as text there. (On PostgreSQL a JSON null goes in as SQL NULL
    and -0.0 as 0, which read back the same.)"""
    def table(name: str) -> sa.Table:
        return sa.Table(name, sa.MetaData(),
                        sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("word", sa.String(40)), sa.Column("n", sa.BigInteger),
                        sa.Column("x", sa.Float), sa.Column("yes", sa.Boolean),
                        sa.Column("doc", t.Json), sa.Column("at", t.UTCDateTime))

    paris = pendulum.datetime(2026, 7, 2, 9, 30, 0, 123, tz="Europe/Paris")
    rows = [
        {"id": 1, "word": "plain", "n": 7, "x": 0.1, "yes": True,
         "doc": {"a": [1, 2.5, None], "é": "naïve \"quoted\" ✓"}, "at": paris},
        {"id": 2, "word": '{"looks": "like json"}', "n": -(2**63), "x": 1e300, "yes": False,
         "doc": "a bare string", "at": pendulum.datetime(1, 1, 1, tz="UTC")},
        {"id": 3, "word": None, "n": None, "x": None, "yes": None, "doc": None, "at": None},
        {"id": 4, "word": "", "n": 0, "x": -0.0, "yes": True, "doc": [[], {}, 2**70],
         "at": dt.datetime(2026, 1, 5, 8, tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
    ]
    ours, theirs = table("bulk_ours"), table("bulk_theirs")
    for made in (ours, theirs):
        made.create(db)
    try:
        with db.begin() as conn:
            insert_rows(conn, ours, rows)
            conn.execute(theirs.insert(), rows)
            if conn.dialect.name == "sqlite":
                assert _stored(conn, ours) == _stored(conn, theirs)
            assert conn.execute(sa.select(ours).order_by(ours.c.id)).all() == \
                conn.execute(sa.select(theirs).order_by(theirs.c.id)).all()
    finally:
        for made in (ours, theirs):
            made.drop(db)


def test_an_upsert_and_returning_work_together(db: sa.Engine) -> None:
    at = pendulum.datetime(2026, 3, 2, 9, tz="UTC")

    def user(uid: str, name: str) -> dict[str, object]:
        return {"id": uid, "name": name, "timezone": "UTC", "fields": {"n": name}}

    with db.begin() as conn:
        insert_rows(conn, t.users, [user("u1", "Ada")])
        changed = insert_rows(conn, t.users, [user("u1", "Grace"), user("u2", "Alan")],
                              conflict="update", returning="id")
        names = dict(conn.execute(sa.select(t.users.c.id, t.users.c.name)).all())
    assert sorted(changed) == ["u1", "u2"] and at
    assert names == {"u1": "Grace", "u2": "Alan"}
