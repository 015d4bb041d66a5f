"""Where runs rest and when they wake: behaviours a small slip in the machine, the
engine or the store would break without any other test noticing (each was found by
planting such a slip; see docs/testing.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, action, automation, exit_when, on, wait
from flowkit.clock import VirtualClock
from flowkit.store import schema as t

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


@action
def may_fail(*, run: Run) -> str:
    if run.user.fields.get("broken"):
        raise RuntimeError("the mail server said no")
    return "sent"


@on("rest.fragile")
@exit_when("rest.stop")
async def fragile(run: Run) -> None:
    await may_fail()
    await wait(hours=1)


@automation(reentry="after_exit")
@on("rest.timed")
@exit_when("rest.stop")
async def timed(run: Run) -> None:
    await wait(seconds=int(run.event["seconds"]))
    await may_fail()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(database_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine(database_url, [fragile, timed], clock=clock, action_attempts=2,
                batch_size=1) as engine:
        yield engine


def rests(engine: Engine, run_id: str) -> tuple[int, int]:
    """How many timer rows and event-wait rows the run has."""
    with engine.db.connect() as conn:
        timers = conn.execute(sa.select(sa.func.count()).select_from(t.timers)
                              .where(t.timers.c.run_id == run_id)).scalar()
        waits = conn.execute(sa.select(sa.func.count()).select_from(t.event_waits)
                             .where(t.event_waits.c.run_id == run_id)).scalar()
    return int(timers or 0), int(waits or 0)


def park(engine: Engine, clock: VirtualClock, user: str) -> str:
    """A run of ``fragile`` whose action failed every attempt."""
    engine.add_user(user, fields={"broken": True})
    engine.emit("rest.fragile", user)
    (run,) = engine.runs(user=user)
    clock.set(clock.now().add(hours=1))
    engine.tick()
    (run,) = engine.runs(user=user)
    assert run.status == "parked"
    return run.id


def test_an_exited_run_keeps_no_timer(engine: Engine) -> None:
    engine.emit("rest.timed", "u1", seconds=60)
    (run,) = engine.runs(user="u1")
    assert rests(engine, run.id) == (1, 0)
    engine.emit("rest.stop", "u1")
    assert engine.runs(user="u1")[0].status == "exited"
    assert rests(engine, run.id) == (0, 0)


def test_a_retried_run_has_its_whole_attempt_budget_again(
        engine: Engine, clock: VirtualClock) -> None:
    run_id = park(engine, clock, "u1")
    # when the run is retried (`flowkit runs retry`) and its action fails once more
    engine.retry(run_id)
    # then it waits for another attempt instead of parking at once
    (run,) = engine.runs(user="u1")
    assert run.status == "waiting" and run.wakes_at is not None
    assert rests(engine, run_id) == (1, 0)


def test_due_timers_are_claimed_oldest_first(engine: Engine, clock: VirtualClock) -> None:
    # given three waits, set newest-due first, all due now (after an outage, say)
    for user, seconds in (("late", 30), ("middle", 20), ("early", 10)):
        engine.emit("rest.timed", user, seconds=seconds)
    clock.set(START.add(minutes=5))
    # when one batch of one timer fires
    assert engine.tick(max_batches=1) == 1
    # then it is the one due first
    statuses = {r.user: r.status for r in engine.runs(flow="timed")}
    assert statuses == {"early": "completed", "middle": "waiting", "late": "waiting"}


def test_an_exit_event_ends_a_parked_run(engine: Engine, clock: VirtualClock) -> None:
    run_id = park(engine, clock, "u1")
    engine.emit("rest.stop", "u1")
    (run,) = engine.runs(user="u1")
    assert run.status == "exited" and rests(engine, run_id) == (0, 0)


def test_a_parked_run_counts_as_live_for_the_reentry_rule(
        engine: Engine, clock: VirtualClock) -> None:
    engine.add_user("u1", fields={"broken": True})
    engine.emit("rest.timed", "u1", seconds=1)
    clock.set(START.add(seconds=1))
    engine.tick()
    clock.set(clock.now().add(hours=1))
    engine.tick()
    assert [r.status for r in engine.runs(user="u1")] == ["parked"]
    engine.emit("rest.timed", "u1", seconds=1)
    assert [r.status for r in engine.runs(user="u1")] == ["parked"]


def test_a_wait_due_exactly_now_fires(engine: Engine, clock: VirtualClock) -> None:
    engine.emit("rest.timed", "u1", seconds=10)
    clock.set(START.add(seconds=10))
    assert engine.tick() == 1
    assert engine.runs(user="u1")[0].status == "completed"
