"""Poison inputs fail alone: one bad event or run among control users of the same
routing shard is rejected or parked with its real error, and every control run goes on.

Runs on SQLite and on PostgreSQL (where a value longer than its column, or a NUL
character in a JSON document, aborts the whole transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, action, on, wait
from flowkit.clock import VirtualClock
from flowkit.store import schema as t
from flowkit.store.repository import shard_of

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
CONTROLS = 40
executed: list[str] = []  # the keys of every action execution, repeats included


@action
def note(label: str, *, run: Run) -> str:
    executed.append(run.idempotency_key())
    if label == "first" and run.user.id.startswith("poison-nul"):
        return "a NUL \x00 in a result"
    return label


@on("poison.started")
async def two_notes(run: Run) -> None:
    await note("first")
    await wait(seconds=5)
    await note("second")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(database_url: str, clock: VirtualClock) -> Iterator[Engine]:
    executed.clear()
    with Engine(database_url, [two_notes], clock=clock) as engine:
        yield engine


def same_shard(user: str, count: int) -> list[str]:
    """``count`` user ids that route in the same shard as ``user``."""
    shard = shard_of(user)
    users = (f"control-{i}" for i in range(10_000))
    return [u for u in users if shard_of(u) == shard][:count]


def store_raw(engine: Engine, name: str, user: str, **payload: Any) -> None:
    """Put an event in the log as another writer (or an older flowkit) might have,
    past the boundary's checks."""
    row = {"key": f"raw-{user}-{name}", "name": name, "user_id": user,
           "payload": {"event": name, "user": user, **payload}, "at": START,
           "routed": False, "shard": shard_of(user)}
    with engine.db.begin() as conn:
        engine.store.ensure_users(conn, [user])
        engine.store.append_events(conn, [row])


def start_controls(engine: Engine, poison: str) -> list[str]:
    controls = same_shard(poison, CONTROLS)
    engine.emit_many([{"event": "poison.started", "user": u} for u in controls])
    return controls


def finish(engine: Engine, clock: VirtualClock) -> None:
    clock.set(START.add(seconds=10))
    engine.tick()


def assert_controls_completed(engine: Engine, controls: list[str]) -> None:
    statuses = {r.user: r.status for r in engine.runs(flow="two_notes")}
    assert [u for u in controls if statuses.get(u) != "completed"] == []
    with engine.db.connect() as conn:
        keys = [r.key for r in conn.execute(sa.select(t.actions.c.key))]
    assert len(keys) == len(set(keys))  # the ledger holds each action once
    ledger = {a.user for a in engine.actions(name="note")}
    assert set(controls) <= ledger


def test_an_undecodable_event_is_rejected_and_its_shard_mates_run(
        engine: Engine, clock: VirtualClock) -> None:
    # given an event whose platform bookkeeping raises (a date that does not parse),
    # stored ahead of 40 control users' events in the same shard
    store_raw(engine, "certificate.awarded", "poison-1", certificate="c",
              expires_at="not a date")
    # when the controls' events are routed in the same batch
    controls = start_controls(engine, "poison-1")
    finish(engine, clock)
    # then the poison is rejected with its real error, and every control completes
    (rejected,) = engine.rejected_events()
    assert rejected.user == "poison-1"
    assert "platform's bookkeeping" in rejected.error and "ParserError" in rejected.error
    assert_controls_completed(engine, controls)


def test_a_run_whose_locals_do_not_decode_is_parked_and_other_timers_fire(
        engine: Engine, clock: VirtualClock) -> None:
    # given a waiting run whose saved locals hold flowkit's date encoding with no date
    controls = start_controls(engine, "poison-2")
    engine.emit("poison.started", "poison-2")
    (poison,) = engine.runs(user="poison-2")
    with engine.db.begin() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == poison.id)
                     .values(locals={"when": {"$date": "x"}}))
    # when the timers of all of them fire in one batch
    finish(engine, clock)
    # then the poison run is parked with the decoding error, and no timer is left
    (poison,) = engine.runs(user="poison-2")
    assert poison.status == "parked"
    assert "firing its wait timer" in poison.reason and "ValueError" in poison.reason
    assert poison.wakes_at is None and poison.kinds()[-1] == "parked"
    assert_controls_completed(engine, controls)


@pytest.mark.postgres
def test_a_value_longer_than_its_column_rejects_that_event_only(
        engine: Engine, clock: VirtualClock, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite does not enforce a column's length")
    # given an enrollment whose course name is longer than the platform's column
    store_raw(engine, "user.enrolled", "poison-3", course="c" * 300)
    controls = start_controls(engine, "poison-3")
    finish(engine, clock)
    (rejected,) = engine.rejected_events()
    assert "StringDataRightTruncation: value too long" in rejected.error
    assert "InFailedSqlTransaction" not in rejected.error
    assert_controls_completed(engine, controls)


@pytest.mark.postgres
def test_a_run_that_cannot_be_written_is_parked_with_the_database_error(
        engine: Engine, clock: VirtualClock, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores NUL characters")
    # given a run whose action returns a NUL character, which PostgreSQL's JSON refuses
    controls = same_shard("poison-nul-4", CONTROLS)
    engine.emit_many([{"event": "poison.started", "user": u}
                      for u in ["poison-nul-4", *controls]])
    finish(engine, clock)
    (poison,) = engine.runs(user="poison-nul-4")
    assert poison.status == "parked"
    assert "UntranslatableCharacter" in poison.reason and "starting it" in poison.reason
    assert_controls_completed(engine, controls)
