"""The scheduler's poll: it tops the timer queue up to what the due timers need, and
counts them only as far as that (the gauge gets a full count once a second)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from flowkit import Run, on, wait
from flowkit.testing import Simulation


@on("bench.hold")
async def hold(run: Run) -> None:
    await wait(days=1)


class Worker(types.SimpleNamespace):
    """A stand-in for flowkit.runtime.worker: its actors record what they were sent."""

    def __init__(self) -> None:
        super().__init__(MAX_BATCHES_PER_MESSAGE=1, TIMERS_QUEUE="timers",
                         ROUTE_QUEUE="route", sent=[])
        self.fire_timers = types.SimpleNamespace(send=lambda: self.sent.append("timers"))
        self.route_events = types.SimpleNamespace(send=lambda s: self.sent.append(s))


class Gauges:
    def __init__(self) -> None:
        self.due: list[int | None] = []

    def observe(self, due: int | None, pending_shards: int, depth: dict[str, int]) -> None:
        self.due.append(due)


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Worker:
    import flowkit.runtime

    stand_in = Worker()
    monkeypatch.setitem(sys.modules, "flowkit.runtime.worker", stand_in)
    monkeypatch.setattr(flowkit.runtime, "worker", stand_in, raising=False)
    return stand_in


@pytest.fixture
def due_timers() -> Iterator[Simulation]:
    """100 runs whose one-day waits are all due."""
    with Simulation(hold) as sim:
        for n in range(100):
            sim.emit("bench.hold", user=f"u{n}")
        sim.clock.set(sim.now.add(days=2))
        yield sim


def _scheduler(sim: Simulation, queued: int = 0) -> Any:
    from flowkit.runtime.scheduler import Scheduler

    broker = types.SimpleNamespace(namespace="test",
                                   client=types.SimpleNamespace(llen=lambda _: queued))
    return Scheduler(sim.engine.db, broker, sim.clock,  # type: ignore[arg-type]
                     batch_size=10, max_timer_messages=3)


def test_a_poll_sends_what_the_due_timers_need_and_counts_no_further(
        worker: Worker, due_timers: Simulation) -> None:
    snapshot = _scheduler(due_timers).poll()
    assert snapshot.due_timers == 30  # 3 messages of a batch of 10: no need to count on
    assert worker.sent == ["timers"] * 3


def test_messages_already_queued_are_not_sent_again(worker: Worker,
                                                    due_timers: Simulation) -> None:
    snapshot = _scheduler(due_timers, queued=2).poll()
    assert snapshot.timer_messages_sent == 1
    assert worker.sent == ["timers"]


def test_the_gauge_gets_a_full_count_at_most_once_a_second(
        worker: Worker, due_timers: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowkit.runtime.scheduler as module

    now = [1000.0]
    monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    scheduler = _scheduler(due_timers)
    scheduler.metrics = gauges = Gauges()
    scheduler.poll()
    now[0] += 0.9
    scheduler.poll()
    assert gauges.due == [100, None]  # the second poll, within the second, counted 30
    now[0] += 0.1
    scheduler.poll()
    assert gauges.due == [100, None, 100]
