"""Where runs rest and when they wake: behaviours a small slip in the machine, the
engine or the store would break without any other test noticing (each was found by
planting such a slip; see docs/testing.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Hooks, Run, action, automation, exit_when, on, wait, wait_for
from flowkit.clock import VirtualClock
from flowkit.errors import RunStatusError, UnknownRunError
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


class TimerHook(Hooks):
    def __init__(self) -> None:
        self.fired: list[tuple[str, str, float]] = []

    def timer_fired(self, flow: str, kind: str, lateness: float) -> None:
        self.fired.append((flow, kind, lateness))


@on("rest.start_fails")
async def fails_at_once(run: Run) -> None:
    if run.user.fields.get("broken"):
        raise RuntimeError("the flow's own code failed")
    await wait(seconds=1)


@on("rest.wait_for")
async def waits_for_a_reply(run: Run) -> None:
    await wait_for("rest.reply", timeout={"days": 1})
    await wait(seconds=1)


@on("rest.forever")
async def waits_forever(run: Run) -> None:
    await wait_for("rest.reply")


@pytest.fixture
def more(database_url: str, clock: VirtualClock) -> Iterator[tuple[Engine, TimerHook]]:
    hook = TimerHook()
    with Engine(database_url, [fragile, timed, fails_at_once, waits_for_a_reply, waits_forever],
                clock=clock, action_attempts=2, batch_size=1, hooks=[hook]) as engine:
        yield engine, hook


def test_an_exit_is_recorded_with_its_reason_at_the_step_it_ended(engine: Engine) -> None:
    engine.emit("rest.timed", "u1", seconds=60)
    engine.emit("rest.stop", "u1")
    (run,) = engine.runs(user="u1")
    last = run.history[-1]
    assert (last.kind, last.step) == ("exited", "wait:dynamic")
    assert "rest.stop" in last.detail["reason"]


def test_due_timers_fire_in_the_order_they_fell_due(engine: Engine, clock: VirtualClock
                                                    ) -> None:
    # given six waits due in an order unrelated to the order they were set
    due = [40, 10, 60, 30, 20, 50]
    for position, seconds in enumerate(due):
        engine.emit("rest.timed", f"u{position}", seconds=seconds)
    clock.set(START.add(minutes=5))
    order = []
    # when timers fire one batch of one at a time
    while engine.tick(max_batches=1):
        done = {r.user for r in engine.runs(flow="timed") if r.status == "completed"}
        order.extend(sorted(done - set(order)))
    assert order == [f"u{due.index(s)}" for s in sorted(due)]


def test_firing_a_timer_leaves_the_timers_not_yet_due(engine: Engine, clock: VirtualClock
                                                      ) -> None:
    engine.emit("rest.timed", "soon", seconds=10)
    engine.emit("rest.timed", "later", seconds=100)
    clock.set(START.add(seconds=10))
    assert engine.tick() == 1
    (later,) = engine.runs(user="later")
    assert later.wakes_at == START.add(seconds=100)


def test_a_run_waiting_for_an_event_is_resumed_by_it_in_a_later_call(
        more: tuple[Engine, TimerHook]) -> None:
    engine, _ = more
    engine.emit("rest.wait_for", "u1")
    engine.emit("rest.wait_for", "u2")
    (run,) = engine.runs(user="u1")
    assert run.waits_for == "rest.reply"
    # another user's run moving on leaves u1's wait in place
    engine.emit("rest.reply", "u2")
    assert engine.runs(user="u1")[0].waits_for == "rest.reply"
    engine.emit("rest.reply", "u1")
    (run,) = engine.runs(user="u1")
    assert (run.step, run.waits_for) == ("wait:1s", None)


def test_a_timer_hook_hears_the_flow_kind_and_lateness(
        more: tuple[Engine, TimerHook], clock: VirtualClock) -> None:
    engine, hook = more
    engine.emit("rest.timed", "u1", seconds=10)
    engine.emit("rest.wait_for", "u2")
    clock.set(START.add(seconds=12))
    engine.tick()
    clock.set(START.add(days=1))
    engine.tick()
    assert hook.fired == [("timed", "wait", 2.0), ("waits_for_a_reply", "timeout", 0.0)]


def test_a_failed_run_is_retried_from_the_top(more: tuple[Engine, TimerHook]) -> None:
    engine, _ = more
    engine.add_user("u1", fields={"broken": True})
    engine.emit("rest.start_fails", "u1")
    (run,) = engine.runs(user="u1")
    assert run.status == "failed" and run.step is None
    engine.add_user("u1", fields={})
    engine.retry(run.id)
    (run,) = engine.runs(user="u1")
    assert (run.status, run.step) == ("waiting", "wait:1s")


def test_retry_says_which_run_it_cannot_retry(engine: Engine) -> None:
    with pytest.raises(UnknownRunError, match="no run has the id 'nope'"):
        engine.retry("nope")
    engine.emit("rest.timed", "u1", seconds=60)
    (run,) = engine.runs(user="u1")
    with pytest.raises(RunStatusError, match=f"run {run.id} is waiting; only failed or "
                                             "parked runs are retried"):
        engine.retry(run.id)


def test_a_failed_action_is_recorded_with_what_failed_and_when_it_is_tried_again(
        engine: Engine, clock: VirtualClock) -> None:
    engine.add_user("u1", fields={"broken": True})
    engine.emit("rest.fragile", "u1")
    (run,) = engine.runs(user="u1")
    failed = [h for h in run.history if h.kind == "action_failed"]
    assert [(h.step, h.detail) for h in failed] == [("may_fail", {
        "action": "may_fail", "key": f"{run.id}:may_fail:1", "attempt": 1,
        "error": "RuntimeError: the mail server said no",
        "retry_at": START.add(seconds=2).isoformat()})]
    clock.set(START.add(hours=1))
    engine.tick()
    (run,) = engine.runs(user="u1")
    last = [h for h in run.history if h.kind == "action_failed"][-1]
    assert (last.step, last.detail["attempt"]) == ("may_fail", 2)
    assert run.reason is not None and run.reason.startswith(
        "action 'may_fail' at step 'may_fail' failed 2 times, last with RuntimeError")


def test_a_timer_left_at_a_step_its_run_has_left_is_dropped_and_others_fire(
        database_url: str, clock: VirtualClock) -> None:
    with Engine(database_url, [timed, waits_forever], clock=clock) as engine:
        stale_timer_is_dropped(engine, clock)


def stale_timer_is_dropped(engine: Engine, clock: VirtualClock) -> None:
    # given a run waiting for an event with a timer left over from a step it has left,
    # due before another run's wait
    engine.emit("rest.forever", "stale")
    engine.emit("rest.timed", "u1", seconds=5)
    (stale,) = engine.runs(user="stale")
    with engine.db.begin() as conn:
        conn.execute(sa.insert(t.timers).values(run_id=stale.id, due_at=START.add(seconds=1),
                                                step="wait:elsewhere", kind="wait"))
    # when both are due (and fire in one batch)
    clock.set(START.add(seconds=10))
    engine.tick()
    # then the left-over timer is dropped without resuming its run, and the other fires
    (stale,) = engine.runs(user="stale")
    assert (stale.status, stale.waits_for) == ("waiting", "rest.reply")
    assert rests(engine, stale.id) == (0, 1)
    assert engine.runs(user="u1")[0].status == "completed"
