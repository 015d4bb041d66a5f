"""The store's lookups by a list of ids find exactly the rows asked for, whatever the ids
hold (user ids come from outside) and however many there are."""

from __future__ import annotations

import pendulum
import pytest
import sqlalchemy as sa

from flowkit.store import Store, database
from flowkit.store import schema as t
from flowkit.store.bulk import insert_rows

AT = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
ODD_IDS = ['quote"d', "comma,ed", "{braced}", "back\\slash", "sp ace", "NULL", "", "é—😀",
           "ends with a space ", "a" * 200]


@pytest.fixture
def store(database_url: str) -> Store:
    engine = database.create_engine(database_url)
    database.ensure_schema(engine, migrate=True)
    return Store(engine)


def _run(run_id: str, user_id: str) -> dict[str, object]:
    return {"id": run_id, "flow": "f", "version": "v", "user_id": user_id,
            "status": "waiting", "step": "s", "locals": {}, "visits": {}, "trigger": {},
            "created_at": AT, "updated_at": AT}


def test_users_with_any_characters_in_their_ids_are_found_exactly(store: Store) -> None:
    with store.engine.begin() as conn:
        store.ensure_users(conn, [*ODD_IDS, *(f"u{n}" for n in range(600))])
        found = store.users(conn, [*ODD_IDS, "not there", "comma", "quote"])
    assert sorted(found) == sorted(ODD_IDS)


def test_a_longer_id_does_not_match_the_run_whose_id_it_starts_with(store: Store) -> None:
    run_id = "0" * 36  # as long as a run id column holds
    with store.engine.begin() as conn:
        insert_rows(conn, t.runs, [_run(run_id, "u1")])
        assert list(store.runs(conn, [run_id + "x"])) == []
        assert list(store.runs(conn, [run_id])) == [run_id]


def test_events_are_found_by_their_sequence_numbers(store: Store) -> None:
    with store.engine.begin() as conn:
        insert_rows(conn, t.events, [
            {"key": f"k{n}", "name": "e", "user_id": "u", "payload": {}, "at": AT,
             "shard": 0} for n in range(3)])
        seqs = sorted(conn.execute(sa.select(t.events.c.seq)).scalars())
        store.mark_routed(conn, seqs[1:])
        assert [e.seq for e in store.unrouted_among(conn, seqs)] == seqs[:1]
