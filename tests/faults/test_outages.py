"""The database or Redis goes away: `flowkit run` waits, says so once, and resumes.

The database outage is a proxy cut between flowkit and the shared PostgreSQL (open
connections dropped, new ones refused); the Redis restart is a redis-server this test
starts itself. Logs stay bounded: FLOWKIT_LOG_INTERVAL is 2 s here, so each process
writes a kind of failure at most once per 2 s, and a traceback once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest
import redis

from flowkit.runtime.services import EmbeddedRedis
from tests.conftest import wait_until
from tests.faults.conftest import FIGURES, System
from tests.faults.proxy import Proxy

OUTAGE = 10.0


def _lines_since(system: System, mark: int) -> list[str]:
    return system.log_lines()[mark:]


def _traced_kinds(lines: list[str]) -> Counter[tuple[object, ...]]:
    """How many records of each process and kind (logger, message up to its first
    colon) carry a traceback: the throttle promises one per process and kind."""
    traced: Counter[tuple[object, ...]] = Counter()
    for line in lines:
        record = json.loads(line)
        if record.get("exc"):
            traced[record["pid"], record["logger"], record["msg"].split(":")[0]] += 1
    return traced


def test_the_database_unreachable_at_start_and_for_10_seconds_is_waited_out(
        system: System, proxy: Proxy) -> None:
    proxy.cut()  # down before flowkit run starts: it waits, says so once, then starts
    with open(system.out, "ab") as out, open(system.err, "ab") as err:
        system.proc = subprocess.Popen(
            [sys.executable, "-m", "flowkit.cli", "run", "--processes", "2"],
            env=system.env, cwd=system.folder, stdout=out, stderr=err,
            start_new_session=True)
    wait_until(lambda: "waiting for the database" in system.output(), 30, "the wait")
    proxy.restore()
    wait_until(lambda: "started 2 worker processes" in system.output(), 30, "the start")
    assert system.output().count("waiting for the database") == 1

    system.emit(300, wait=1)
    wait_until(lambda: system.statuses()["completed"] >= 20, 60, "the first completed runs")
    mark = len(system.log_lines())
    said = system.output().count("cannot reach the database")  # once at the start
    proxy.cut()  # counted before: the supervisor may say so before this line's next one
    cut = time.monotonic()
    wait_until(lambda: system.output().count("cannot reach the database") > said, OUTAGE,
               "the supervisor to notice")
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - cut)))  # the outage's length
    proxy.restore()
    back = wait_until(lambda: "database reachable again" in system.output(), 20,
                      "the supervisor to see the database back")
    wait_until(lambda: system.statuses()["completed"] == 300, 60, "300 completed runs")
    figures = system.check_ledger(300)
    logged = _lines_since(system, mark)
    traced = _traced_kinds(logged)
    tracebacks = sum(traced.values())
    out = system.output()
    assert out.count("cannot reach the database") == said + 1
    assert out.count("database reachable again") == 1
    assert "restarting" not in out  # no process ended: they all waited it out
    assert len(logged) <= 80, "\n".join(logged[:20])
    assert max(traced.values(), default=0) == 1, traced  # a traceback once per kind
    assert tracebacks <= 6, traced  # 3 processes, at most 2 kinds each
    system.shut_down()
    FIGURES.append(f"database unreachable {OUTAGE:g} s, 300 runs: {figures}; the "
                   f"supervisor saw it back {back:.1f} s after the proxy; {len(logged)} "
                   f"log lines from 3 processes during the outage, {tracebacks} tracebacks")


def test_redis_flushed_under_flowkit_run_loses_no_run(system: System, redis_url: str
                                                      ) -> None:
    system.start(2)
    system.emit(300, wait=2)
    wait_until(lambda: system.statuses()["waiting"] >= 200, 60, "runs waiting on timers")
    redis.Redis.from_url(redis_url).flushdb()  # this session's db only
    flushed = time.monotonic()
    wait_until(lambda: system.statuses()["completed"] == 300, 60, "300 completed runs")
    figures = system.check_ledger(300)
    system.shut_down()
    FIGURES.append(f"Redis flushed, 300 runs: {figures}, all completed "
                   f"{time.monotonic() - flushed:.1f} s after the flush")


@pytest.fixture
def own_redis() -> EmbeddedRedis:
    server = EmbeddedRedis().start()
    yield server
    server.stop()


def test_redis_restarted_under_flowkit_run_is_waited_out(
        system: System, own_redis: EmbeddedRedis) -> None:
    system.env["REDIS_URL"] = own_redis.url
    system.start(2)
    system.emit(300, wait=1)
    wait_until(lambda: system.statuses()["completed"] >= 20, 60, "the first completed runs")
    mark = len(system.log_lines())
    assert own_redis.process is not None
    own_redis.process.kill()
    own_redis.process.wait()
    wait_until(lambda: "cannot reach Redis" in system.output(), 10, "the supervisor to notice")
    time.sleep(3.0)  # the outage's length
    own_redis.start()  # on the same port, empty
    wait_until(lambda: "Redis reachable again" in system.output(), 20, "Redis back")
    wait_until(lambda: system.statuses()["completed"] == 300, 60, "300 completed runs")
    figures = system.check_ledger(300)
    logged = _lines_since(system, mark)
    assert len(logged) <= 80, "\n".join(logged[:20])
    assert "restarting" not in system.output()  # the scheduler did not exit, nor a worker
    system.shut_down()
    FIGURES.append(f"Redis killed and restarted empty, 300 runs: {figures}; {len(logged)} "
                   "log lines during the outage")

