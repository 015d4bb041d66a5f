"""On a SQLite file, batches of events and timers compute outside the write lock and
check before writing that nothing they read has moved on: a batch gone stale writes
nothing and runs again holding the lock, so what another transaction did meanwhile
stands, and each action is in the ledger once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from flowkit import Engine, Run, action, on, wait
from flowkit.clock import VirtualClock
from flowkit.lms.platform import PlatformView
from flowkit.runtime.hooks import Hooks
from flowkit.runtime.operations import Selection, end_runs
from flowkit.store import database

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


@action
def note(label: str) -> str:
    return label


@action
def tag(name: str, *, run: Run) -> None:
    run.platform.add_tag(run.user.id, name, key=run.idempotency_key())


@on("opt.waits")
async def waits(run: Run) -> None:
    await note("before")
    await wait(days=1)
    await note("after")


@action
async def tag_later(name: str, *, run: Run) -> None:
    run.platform.add_tag(run.user.id, name, key=run.idempotency_key())


@action
def tag_or_not(*, run: Run) -> bool:
    try:
        run.platform.add_tag(run.user.id, "vip", key=run.idempotency_key())
        return True
    except BaseException:  # code that swallows everything, as some does
        return False


@on("opt.swallows")
async def swallows(run: Run) -> None:
    await tag_or_not()


@action
def count_users(*, run: Run) -> int:
    # past the engine's statements, straight to the driver
    return int(run.platform.conn.exec_driver_sql(
        "SELECT count(*) FROM flowkit_users").scalar())


@on("opt.counts")
async def counts(run: Run) -> None:
    await count_users()
    await note("counted")


CALLS: list[str] = []


@action
def counted(*, run: Run) -> None:
    CALLS.append(run.user.id)


@action
def counted_then_asks(*, run: Run) -> bool:
    CALLS.append(run.user.id)
    return run.platform.has_tag(run.user.id, "vip")


@on("opt.counted")
async def counted_flow(run: Run) -> None:
    await counted()


@on("opt.asks")
async def asks(run: Run) -> None:
    await counted_then_asks()


@on("opt.tags")
async def tags_the_user(run: Run) -> None:
    if run.event.get("asynchronously"):
        await tag_later("vip")
    else:
        await tag("vip")
    await note("tagged")


class Meanwhile(Hooks):
    """Does ``then`` once, in a transaction of its own, while a batch computes."""

    def __init__(self) -> None:
        self.then: Any = None

    def _now(self, *args: Any) -> None:
        then, self.then = self.then, None
        if then is not None:
            then(*args)

    def before_action(self, run: Run, call: Any, key: str) -> None:
        if call.action.name in ("tag", "tag_later"):
            self._now(run)

    def after_transition(self, run: Run, status: str, step: str | None,
                         outcome: object) -> None:
        self._now(run)


@pytest.fixture
def meanwhile() -> Meanwhile:
    return Meanwhile()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(tmp_path: Path, meanwhile: Meanwhile, clock: VirtualClock) -> Iterator[Engine]:
    with Engine(f"sqlite:///{tmp_path}/flowkit.db", [waits, tags_the_user, swallows, counts,
                                                    counted_flow, asks],
                clock=clock, hooks=[meanwhile]) as engine:
        yield engine


def _notes(engine: Engine, user: str) -> list[str]:
    return [a.args["label"] for a in engine.actions(user=user, name="note")]


def test_a_run_ended_while_its_timer_fires_stays_ended_and_its_next_step_never_runs(
        engine: Engine, meanwhile: Meanwhile, clock: VirtualClock) -> None:
    engine.emit("opt.waits", "ann")
    engine.route()
    assert _notes(engine, "ann") == ["before"]
    clock.set(START.add(days=1))
    # while the timer's batch computes (its run's next step done in memory), the run is
    # ended from another transaction
    meanwhile.then = lambda run: end_runs(engine, Selection(runs=(run.id,)),
                                          reason="left the school", by="ops")
    engine.tick()
    assert meanwhile.then is None  # it did end the run mid-batch
    [run] = engine.runs(user="ann")
    assert run.status == "exited"
    assert "left the school" in (run.reason or "")
    assert _notes(engine, "ann") == ["before"]  # "after" never reached the ledger
    assert engine.next_due() is None


@pytest.mark.parametrize("asynchronously", [False, True])
def test_a_batch_whose_action_writes_while_another_commits_runs_again_under_the_lock(
        engine: Engine, meanwhile: Meanwhile, asynchronously: bool) -> None:
    # An action that writes through the platform needs the write lock while the batch
    # computes; another transaction committed since the batch's snapshot, so SQLite
    # could not give it the lock ("database is locked"). The batch runs again holding
    # the lock, and the action does not fail.
    engine.add_user("ann")
    meanwhile.then = lambda run: engine.add_user("bob", fields={"met": "ann"})
    # routed at once (the inline dispatcher)
    engine.emit("opt.tags", "ann", asynchronously=asynchronously)
    assert meanwhile.then is None
    [run] = engine.runs(user="ann")
    assert run.status == "completed", run.reason
    assert [h.kind for h in run.history].count("action_failed") == 0
    assert PlatformView(engine.db, engine.platform, engine.clock.now).tags("ann") == ["vip"]
    assert [a.name for a in engine.actions(user="ann")] == [
        "tag_later" if asynchronously else "tag", "note"]


def test_code_that_swallows_the_refusal_does_not_get_its_result_written(
        engine: Engine) -> None:
    # The refused statement raised inside the action, which caught it and returned
    # False: the batch must still go round again under the lock, where the tag is
    # written and the action returns True, as it would have on the locked path.
    engine.add_user("ann")
    engine.emit("opt.swallows", "ann")
    [record] = engine.actions(user="ann", name="tag_or_not")
    assert record.result is True
    assert PlatformView(engine.db, engine.platform, engine.clock.now).tags("ann") == ["vip"]


def test_a_statement_sent_straight_to_the_driver_sends_the_batch_round_too(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine.add_user("ann")
    with caplog.at_level(logging.WARNING, logger="flowkit"):
        engine.emit("opt.counts", "ann")
    assert caplog.records == []  # (not: "a batch of 1 events failed ...")
    [run] = engine.runs(user="ann")
    assert run.status == "completed", run.reason
    assert [(a.name, a.result) for a in engine.actions(user="ann")] == [
        ("count_users", 1), ("note", "counted")]


def test_a_computing_batch_holds_back_none_of_sqlites_checkpoints(
        engine: Engine, meanwhile: Meanwhile, clock: VirtualClock) -> None:
    # A reader's snapshot keeps a checkpoint from copying what was committed after it:
    # with batches' snapshots open while they computed, S5's log grew past 100 MB.
    engine.emit("opt.waits", "ann")
    clock.set(START.add(days=1))
    copied: list[tuple[int, int] | None] = []

    def commit_then_checkpoint(run: Run) -> None:
        engine.add_user("bob")
        copied.append(database.checkpoint(engine.db))

    meanwhile.then = commit_then_checkpoint
    engine.tick()
    [(pages, done)] = copied
    assert pages > 0 and done == pages


def test_an_action_runs_once_when_nothing_else_happens(
        engine: Engine, clock: VirtualClock) -> None:
    for user in ("ann", "bob", "cy"):
        engine.emit("opt.waits", user)  # each has a run waiting, which routing reads
    CALLS.clear()
    for user in ("ann", "bob", "cy"):
        engine.emit("opt.counted", user)
    assert CALLS == ["ann", "bob", "cy"]  # no batch went round twice
    clock.set(START.add(days=1))
    assert engine.tick() == 3
    assert [_notes(engine, u) for u in ("ann", "bob", "cy")] == [["before", "after"]] * 3


def test_after_a_batch_goes_stale_its_thread_runs_the_next_ones_holding_the_lock(
        engine: Engine) -> None:
    # Each of these batches asks the platform while computing: the first goes stale
    # (its action ran, and runs again under the lock); the next ones do not try.
    CALLS.clear()
    for user in ("ann", "bob", "cy"):
        engine.emit("opt.asks", user)
    assert CALLS == ["ann", "ann", "bob", "cy"]


def test_a_run_started_for_the_user_meanwhile_is_seen(
        engine: Engine, meanwhile: Meanwhile) -> None:
    # bob's start, in the batch that also routes ann's event, starts a run for ann
    # elsewhere; the batch, which saw ann with no run, must not start a second one
    # (re-entry after exit: one live run at a time).
    meanwhile.then = lambda run: engine.start("waits", "ann")
    engine.emit_many([{"event": "opt.waits", "user": "bob"},
                      {"event": "opt.waits", "user": "ann"}])
    assert meanwhile.then is None
    assert [r.status for r in engine.runs(user="ann")] == ["waiting"]


def test_an_enrolment_is_not_lost_when_the_run_it_met_ends_while_its_batch_computes(
        engine: Engine, meanwhile: Meanwhile, clock: VirtualClock) -> None:
    # ann's first run waits; her second enrolment arrives in a batch that sees that run
    # live, so (re-entry after exit) it starts none. While that batch computes, the
    # first run's timer fires elsewhere and the run completes: the batch must not
    # commit its decision, made on a run that has moved on.
    engine.emit("opt.waits", "ann", idempotency_key="first")
    clock.set(START.add(days=1))
    meanwhile.then = lambda run: engine.tick()  # at bob's start, before ann's event
    engine.emit_many([{"event": "opt.waits", "user": "bob"},
                      {"event": "opt.waits", "user": "ann", "idempotency_key": "second"}])
    assert meanwhile.then is None
    assert sorted(r.status for r in engine.runs(user="ann")) == ["completed", "waiting"]
    assert _notes(engine, "ann") == ["before", "after", "before"]
    assert [r.status for r in engine.runs(user="bob")] == ["waiting"]
    assert _notes(engine, "bob") == ["before"]


def test_with_nothing_to_route_or_fire_a_batch_never_waits_for_the_write_lock(
        engine: Engine) -> None:
    # (the engine's connections wait up to 30 s for the lock: this test would fail
    # with "database is locked" after them)
    with engine.db.begin() as holder:  # BEGIN IMMEDIATE: the write lock, held
        holder.exec_driver_sql("UPDATE flowkit_users SET name = name")
        assert engine.tick() == 0
        assert engine.route() == 0
