"""Each write of a run adds one to its revision: what a batch computed outside SQLite's
write lock checks before it writes (``flowkit.runtime.batch``)."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from flowkit import Engine, Run, action, on, wait
from flowkit.clock import VirtualClock

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


@action
def note(label: str) -> str:
    return label


@on("opt.waits")
async def waits(run: Run) -> None:
    await note("before")
    await wait(days=1)
    await note("after")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(database_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine(database_url, [waits], clock=clock) as engine:
        yield engine


def test_each_write_of_a_run_adds_one_to_its_revision_and_new_runs_show(
        engine: Engine, clock: VirtualClock) -> None:
    engine.emit("opt.waits", "ann", idempotency_key="first")
    engine.route()
    clock.set(START.add(days=1))
    with engine.db.connect() as conn:
        [before] = engine.store.runs_of_users(conn, ["ann"])
        assert engine.store.revisions(conn, [], ["ann"]) == {before.id: 0}
    engine.tick()
    engine.emit("opt.waits", "ann", idempotency_key="second")
    engine.route()
    with engine.db.connect() as conn:
        now = engine.store.revisions(conn, [], ["ann"])
    # each write of a run adds one; a run new to the user shows among the user's runs
    assert now[before.id] == 1
    assert len(now) == 2
