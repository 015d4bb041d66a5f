"""The production pipeline with real processes: Dramatiq workers over Redis, schedulers,
PostgreSQL. Nothing is lost and every transition commits once, whatever dies."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
import redis

from flowkit import Engine
from flowkit.clock import VirtualClock
from tests.conftest import wait_until
from tests.integration import flows
from tests.integration.conftest import ROOT, Processes


@pytest.fixture
def emitter(pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An engine that records events and hands their routing to the workers."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    from flowkit.runtime import worker

    worker.broker.client = redis.Redis.from_url(redis_url)  # the session's Redis
    with Engine(pg_url, [flows.two_steps], dispatcher=worker.DramatiqDispatcher()) as engine:
        yield engine


def statuses(engine: Engine) -> Counter[str]:
    return Counter(r.status for r in engine.runs(flow="two_steps"))


def test_two_workers_and_two_schedulers_commit_every_transition_once(
        processes: Processes, emitter: Engine) -> None:
    for _ in range(2):
        processes.worker()
        processes.scheduler()
    emitter.emit_many([{"event": "it.started", "user": f"u{i}", "wait": 1}
                       for i in range(1000)])
    wait_until(lambda: statuses(emitter)["completed"] == 1000, 120, "1,000 completed runs")
    runs = emitter.runs(flow="two_steps")
    assert {tuple(r.kinds()) for r in runs} == {
        ("started", "action", "waiting", "resumed", "action", "completed")}
    keys = [a.key for a in emitter.actions()]
    assert len(keys) == len(set(keys)) == 2000


def test_a_worker_killed_mid_step_loses_no_run_and_duplicates_only_what_was_in_flight(
        processes: Processes, emitter: Engine, tmp_path: Path) -> None:
    processes.env["FLOWKIT_TEST_ACTION_SECONDS"] = "0.05"
    victim = processes.worker(threads=1)
    processes.scheduler()
    emitter.emit_many([{"event": "it.started", "user": f"u{i}", "wait": 1}
                       for i in range(60)])
    effects = tmp_path / "effects.txt"
    wait_until(lambda: effects.exists() and len(effects.read_text().splitlines()) >= 5, 60,
               "the worker to be mid-way through its actions")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    before_kill = {line.split()[0] for line in effects.read_text().splitlines()}
    processes.worker()
    wait_until(lambda: statuses(emitter)["completed"] == 60, 90, "60 completed runs")

    # every run finished, each step once in the ledger and in history
    assert all(r.kinds() == ["started", "action", "waiting", "resumed", "action", "completed"]
               for r in emitter.runs(flow="two_steps"))
    keys = [a.key for a in emitter.actions()]
    assert len(keys) == len(set(keys)) == 120
    # the effects ran at least once each; any that ran twice were in flight at the kill
    counts = Counter(line.split()[0] for line in effects.read_text().splitlines())
    assert set(counts) == set(keys)
    duplicated = {key for key, n in counts.items() if n > 1}
    assert duplicated <= before_kill


def test_redis_flushed_while_runs_wait_loses_none_of_them(
        processes: Processes, emitter: Engine, redis_url: str) -> None:
    processes.worker()
    processes.worker()
    processes.scheduler()
    emitter.emit_many([{"event": "it.started", "user": f"u{i}", "wait": 3}
                       for i in range(500)])
    wait_until(lambda: statuses(emitter)["waiting"] == 500, 60, "500 waiting runs")
    redis.Redis.from_url(redis_url).flushdb()  # this session's db only
    wait_until(lambda: statuses(emitter)["completed"] == 500, 60, "500 completed runs")
    assert len(emitter.actions(name="mark")) == 1000


def test_the_main_job_runs_on_a_fresh_machine_with_nothing_running(tmp_path: Path) -> None:
    # in a copy of the examples: the checkout's own .flowkit/demo.db is never touched
    for folder in ("automations", "tracks", "emails"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "flowkit.cli", "run", "--demo", "30", "--duration", "60"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "started an embedded Redis" in out
    assert "sqlite:///.flowkit/demo.db" in out
    assert (tmp_path / ".flowkit" / "demo.db").exists()
    assert "the demo is done: nothing left to route and no timer left to fire" in out
    assert re.search(r"onboarding_drip +completed +\d+", out)
    assert re.search(r"inactivity-14d +\d+ +event user.visited.* +an inactivity watcher", out)
    # the libraries' INFO lines (Dramatiq's start-up, Alembic's plugins) are not shown
    assert "[INFO]" not in result.stderr, result.stderr[:2000]


def test_a_routing_message_fires_the_timers_that_are_due_before_its_events(
        pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under a backlog of events every worker thread is routing; a timer that comes due
    # meanwhile is fired by the next routing message, not left behind the events.
    monkeypatch.setenv("REDIS_URL", redis_url)
    from flowkit.runtime import worker
    from tests.runtime import flows as runtime_flows

    clock = VirtualClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    worker.broker.client = redis.Redis.from_url(redis_url)
    with Engine(pg_url, [runtime_flows.one_wait], clock=clock) as engine:
        engine.emit("user.signed_up", user="u1")  # routed inline: the run waits 1 s
        assert engine.runs(user="u1")[0].status == "waiting"
        clock.set(clock.now().add(seconds=2))
        monkeypatch.setattr(worker, "get_engine", lambda: engine)
        worker.route_events.fn(0)  # a shard with no events waiting
        assert engine.runs(user="u1")[0].status == "completed"
