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
    if db.dialect.name != "postgresql":
        pytest.skip("on SQLite a plain DateTime keeps the wall time (SQLAlchemy's own "
                    "type, not the bulk write); flowkit's tables use UTCDateTime")
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
