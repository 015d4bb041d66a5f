"""The engine on a real database (a SQLite file, then PostgreSQL): durable waits,
exits, duplicates, batches, atomic transitions and per-user order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Hooks
from flowkit.clock import VirtualClock
from flowkit.store import schema as t
from tests.runtime import flows

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


class CountCommits(Hooks):
    def __init__(self) -> None:
        self.commits: list[int] = []

    def after_commit(self, transitions: int, seconds: float) -> None:
        self.commits.append(transitions)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(database_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine(database_url, [flows.drip, flows.one_wait, flows.waits_for_enrollment],
                clock=clock) as engine:
        yield engine


def advance(engine: Engine, clock: VirtualClock, **duration: float) -> None:
    clock.set(clock.now().add(**duration))  # type: ignore[arg-type]
    engine.tick()


def templates(engine: Engine, user: str) -> list[str]:
    return [a.args["template"] for a in engine.actions(user=user, name="send_email")]


def test_the_drip_runs_to_the_end_with_timers_in_sql(engine: Engine, clock: VirtualClock
                                                     ) -> None:
    engine.add_user("u1", fields={"units": 2})
    engine.emit("user.enrolled", user="u1", course="python-101")
    # the run now rests on a timer row, not in memory
    (run,) = engine.runs(user="u1")
    assert (run.status, run.step, run.wakes_at) == ("waiting", "wait:2d", START.add(days=2))
    advance(engine, clock, days=2)
    advance(engine, clock, days=4)
    assert templates(engine, "u1") == ["welcome", "reminder", "encouragement"]
    assert engine.runs(user="u1")[0].status == "completed"


def test_a_waiting_run_survives_a_restart_of_the_engine(database_url: str,
                                                        clock: VirtualClock) -> None:
    with Engine(database_url, [flows.drip], clock=clock) as first:
        first.emit("user.enrolled", user="u1", course="python-101")
    clock.set(START.add(days=2))
    with Engine(database_url, [flows.drip], clock=clock) as second:
        assert second.tick() == 1
        assert templates(second, "u1") == ["welcome", "reminder"]


def test_an_exit_event_cancels_a_waiting_run_and_no_later_action_runs(
        engine: Engine, clock: VirtualClock) -> None:
    engine.emit("user.enrolled", user="u1", course="python-101")
    advance(engine, clock, days=1)
    engine.emit("course.completed", user="u1", course="python-101")
    advance(engine, clock, days=30)
    (run,) = engine.runs(user="u1")
    assert run.status == "exited"
    assert "course.completed" in (run.reason or "")
    assert templates(engine, "u1") == ["welcome"]
    with engine.db.connect() as conn:  # its timer is gone with it
        assert conn.execute(sa.select(sa.func.count()).select_from(t.timers)).scalar() == 0


def test_an_exit_for_another_course_does_not_end_the_run(engine: Engine) -> None:
    engine.emit("user.enrolled", user="u1", course="python-101")
    engine.emit("course.completed", user="u1", course="rust-101")
    assert engine.runs(user="u1")[0].status == "waiting"


def test_a_duplicate_event_starts_nothing_new(engine: Engine) -> None:
    first = engine.emit("user.enrolled", user="u1", course="python-101", idempotency_key="e1")
    engine.emit("course.completed", user="u1", course="python-101")
    again = engine.emit("user.enrolled", user="u1", course="python-101", idempotency_key="e1")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert [r.status for r in engine.runs(user="u1")] == ["exited"]


def test_events_of_one_user_apply_in_the_order_given(engine: Engine) -> None:
    engine.emit_many([
        {"event": "user.signed_up", "user": "u1"},
        {"event": "user.enrolled", "user": "u1", "course": "python-101"},
        {"event": "course.completed", "user": "u1", "course": "python-101"},
    ])
    by_flow = {r.flow: r for r in engine.runs(user="u1")}
    assert by_flow["waits_for_enrollment"].status == "completed"
    assert by_flow["waits_for_enrollment"].history[-1].detail["value"] == "python-101"
    assert by_flow["drip"].status == "exited"


def test_timers_fire_in_batches_of_many_runs_per_transaction(
        database_url: str, clock: VirtualClock) -> None:
    hooks = CountCommits()
    with Engine(database_url, [flows.drip], clock=clock, hooks=[hooks],
                batch_size=500) as engine:
        engine.emit_many([{"event": "user.enrolled", "user": f"u{i}", "course": "python-101"}
                          for i in range(1200)])
        assert hooks.commits == [500, 500, 200]  # routing: three transactions
        hooks.commits.clear()
        clock.set(START.add(days=2))
        assert engine.tick() == 1200
        assert hooks.commits == [500, 500, 200]
        statuses = {r.status for r in engine.runs(flow="drip")}
        assert statuses == {"waiting"}
        assert len(engine.actions(name="send_email")) == 2400


def test_one_runs_failing_action_does_not_fail_its_batch_mates(engine: Engine) -> None:
    engine.add_user("bad", fields={"broken": True})
    engine.emit_many([{"event": "user.signed_up", "user": u} for u in ("a", "bad", "b")])
    status = {r.user: r for r in engine.runs(flow="one_wait")}
    assert (status["a"].step, status["b"].step) == ("wait:1s", "wait:1s")
    assert (status["bad"].status, status["bad"].step) == ("waiting", "flaky")
    failure = status["bad"].history[-1]
    assert failure.kind == "action_failed"
    assert "the mail server said no" in failure.detail["error"]


def test_a_failing_action_is_retried_with_backoff_then_parked(
        engine: Engine, clock: VirtualClock) -> None:
    engine.add_user("bad", fields={"broken": True})
    engine.emit("user.signed_up", user="bad")
    for _ in range(4):  # attempts 2..5, each after its backoff (2 s, 8 s, 32 s, 128 s)
        due = engine.next_due()
        assert due is not None
        clock.set(due)
        engine.tick()
    (run,) = engine.runs(flow="one_wait")
    failures = [h for h in run.history if h.kind == "action_failed"]
    assert [h.detail["attempt"] for h in failures] == [1, 2, 3, 4, 5]
    assert [h.at - START for h in failures] == [
        pendulum.duration(seconds=s) for s in (0, 2, 10, 42, 170)]
    keys = {h.detail["key"] for h in failures}
    assert len(keys) == 1  # every attempt of the visit had the same idempotency key
    assert run.status == "parked"
    assert "failed 5 times" in (run.reason or "")
    assert f"flowkit runs retry {run.id}" in (run.reason or "")
    assert run.wakes_at is None  # no further attempt is scheduled


def test_a_parked_run_can_be_retried_at_the_same_step(engine: Engine,
                                                      clock: VirtualClock) -> None:
    engine = Engine(engine.database_url, [flows.one_wait], clock=clock, action_attempts=1)
    engine.add_user("bad", fields={"broken": True})
    engine.emit("user.signed_up", user="bad")
    (run,) = engine.runs(flow="one_wait")
    assert run.status == "parked"
    engine.add_user("bad", fields={"broken": False})  # someone fixes the cause
    engine.retry(run.id)
    advance(engine, clock, seconds=1)
    (run,) = engine.runs(flow="one_wait")
    assert run.status == "completed"
    assert [a.name for a in engine.actions(user="bad")] == ["flaky", "send_email"]
    assert engine.actions(user="bad")[0].key.endswith(":flaky:1")
    engine.close()


def test_a_transition_that_cannot_commit_leaves_nothing_behind(
        engine: Engine, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.emit("user.enrolled", user="u1", course="python-101")
    clock.set(START.add(days=2))
    original = engine.store.write

    def write_then_fail(conn: sa.Connection, changes: Any) -> None:
        original(conn, changes)
        raise ConnectionError("database went away mid-commit")

    monkeypatch.setattr(engine.store, "write", write_then_fail)
    with pytest.raises(ConnectionError):
        engine.tick()
    monkeypatch.undo()
    # the claim of the timer, the action and the new wait all rolled back together
    (run,) = engine.runs(user="u1")
    assert (run.status, run.step) == ("waiting", "wait:2d")
    assert templates(engine, "u1") == ["welcome"]
    assert engine.tick() == 1
    assert templates(engine, "u1") == ["welcome", "reminder"]


def test_wait_for_times_out_with_none(engine: Engine, clock: VirtualClock) -> None:
    engine.emit("user.signed_up", user="u1")
    advance(engine, clock, days=3)
    run = next(r for r in engine.runs(user="u1") if r.flow == "waits_for_enrollment")
    assert run.status == "completed"
    assert run.history[-1].detail["value"] is None


def test_flow_versions_are_recorded(engine: Engine) -> None:
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(t.flow_versions.c.flow, t.flow_versions.c.version))
        recorded = {(r.flow, r.version) for r in rows}
    assert (flows.drip.name, flows.drip.version) in recorded


def test_one_batch_writes_each_row_with_its_own_moments(engine: Engine, clock: VirtualClock
                                                        ) -> None:
    # One event starts two runs in one batch that rest on different timers; the batch's
    # write converts each distinct moment once, and must not hand one row's to another.
    engine.emit("user.signed_up", user="u1")
    wakes = {r.flow: r.wakes_at for r in engine.runs(user="u1")}
    assert wakes == {"one_wait": START.add(seconds=1),
                     "waits_for_enrollment": START.add(days=3)}
    advance(engine, clock, seconds=5)
    done = next(r for r in engine.runs(user="u1") if r.flow == "one_wait")
    assert (done.status, done.created_at, done.updated_at) == (
        "completed", START, START.add(seconds=5))
