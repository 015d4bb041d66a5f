"""Processes die: `flowkit run` restarts them, and nothing it started outlives it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.conftest import wait_until
from tests.faults.conftest import FIGURES, System


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_worker_then_the_scheduler_killed_with_9_are_restarted_and_every_run_completes(
        system: System) -> None:
    system.env["FLOWKIT_TEST_ACTION_SECONDS"] = "0.002"
    system.start(2, "--threads", "2")
    system.emit(1000, wait=1)
    wait_until(lambda: len(system.effect_lines()) >= 200, 60, "200 actions done")
    worker = system.child("worker")
    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: "restarting it" in system.output(), 10, "the supervisor's restart")
    wait_until(lambda: worker not in system.children() and len(system.children()) >= 3,
               10, "a new worker in the dead one's place")
    worker_back = time.monotonic() - killed

    scheduler = system.child("scheduler")
    os.kill(scheduler, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: scheduler not in system.children() and len(system.children()) >= 3,
               10, "a new scheduler in the dead one's place")
    scheduler_back = time.monotonic() - killed

    wait_until(lambda: system.statuses()["completed"] == 1000, 120, "1,000 completed runs")
    figures = system.check_ledger(1000)
    out = system.output()
    assert out.count("restarting it") == 2
    assert "the worker 1" in out or "the worker 2" in out
    assert "the scheduler (pid" in out and "SIGKILL" in out
    system.shut_down()
    FIGURES.append(f"kill -9 a worker, then the scheduler, 1,000 runs in flight: {figures}; "
                   f"the worker back in {worker_back:.1f} s, the scheduler in "
                   f"{scheduler_back:.1f} s")


def test_flowkit_run_killed_with_9_leaves_no_process_and_loses_no_run(
        system: System) -> None:
    system.start(2)
    system.emit(200, wait=2)
    wait_until(lambda: system.statuses()["waiting"] >= 50, 60, "runs waiting on timers")
    assert system.proc is not None
    children = system.children()
    os.kill(system.proc.pid, signal.SIGKILL)
    gone = wait_until(lambda: not any(_alive(pid) for pid in children), 5,
                      "the children to die with their parent")
    system.proc.wait()

    system.start(2)  # a restart by hand finishes the work
    wait_until(lambda: system.statuses()["completed"] == 200, 60, "200 completed runs")
    figures = system.check_ledger(200)
    system.shut_down()
    FIGURES.append(f"kill -9 flowkit run, 200 runs: children gone in {gone:.1f} s; after "
                   f"a restart {figures}")
