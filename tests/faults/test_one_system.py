"""One `flowkit run` with its own Redis per database; any number on one shared Redis."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from flowkit.store.lanes import Lanes
from tests.conftest import wait_until
from tests.faults.conftest import FIGURES, ROOT, System


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return dict(env, PYTHONPATH=str(ROOT), FLOWKIT_LOG_LEVEL="WARNING",
                FLOWKIT_TEST_EFFECTS=str(tmp_path / "effects.txt"), **extra)


def _second_run(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowkit.cli", "run", "--flows", "tests.integration.flows",
         "--processes", "1", "--duration", "2"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_a_second_flowkit_run_with_its_own_redis_on_one_database_refuses_to_start(
        where: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path}/flowkit.db" if where == "sqlite" else \
        request.getfixturevalue("pg")
    first = System(_env(tmp_path, DATABASE_URL=url), tmp_path, url)
    try:
        first.start(1)
        wait_until(lambda: (tmp_path / ".flowkit" / "run.json").exists(), 30, "the state file")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        folders = (tmp_path, elsewhere) if where == "sqlite" else (elsewhere,)
        for folder in folders:  # the same folder, or another one
            second = _second_run(folder, _env(tmp_path, DATABASE_URL=url))
            assert second.returncode == 2, second.stdout + second.stderr
            line = second.stderr.strip().splitlines()[-1]
            assert "another `flowkit run`" in line and "set REDIS_URL" in line
        assert first.proc is not None and first.proc.poll() is None
        recorded = json.loads((tmp_path / ".flowkit" / "run.json").read_text())
        assert recorded["pid"] == first.proc.pid  # the refused one left it alone
        if where == "sqlite":  # its embedded Redis dies: it is started again
            os.kill(first.child("redis-server"), signal.SIGKILL)
            wait_until(lambda: "the embedded Redis was killed" in first.output(), 10,
                       "the embedded Redis's restart")
            first.emit(20, wait=0)
            wait_until(lambda: first.statuses()["completed"] == 20, 30, "20 completed runs")
        first.shut_down()
    finally:
        first.stop()


def test_several_flowkit_run_share_one_redis_and_one_database(
        system: System, tmp_path: Path) -> None:
    system.start(1)
    other = tmp_path / "other-machine"
    other.mkdir()
    second = _second_run(other, system.env)
    assert second.returncode == 0, second.stderr
    assert "started 1 worker processes" in second.stdout
    system.shut_down()


def test_a_lease_left_by_a_killed_run_on_this_machine_is_taken_over(tmp_path: Path) -> None:
    from flowkit.errors import AlreadyRunningError
    from flowkit.runtime.lease import DatabaseLock
    from flowkit.store import database

    engine = database.create_engine(f"sqlite:///{tmp_path}/flowkit.db")
    first, second = DatabaseLock(engine), DatabaseLock(engine)
    first.acquire()
    with pytest.raises(AlreadyRunningError, match="another `flowkit run`"):
        second.acquire()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with engine.begin() as conn:  # as if the holder had been this pid, now gone
        conn.exec_driver_sql(f"UPDATE flowkit_leases SET pid = {dead.pid}")
    second.acquire()
    with pytest.raises(AlreadyRunningError):
        first.renew()  # the old holder, were it still around, learns it lost the lock
    second.release()
    engine.dispose()


def test_flowkit_run_stops_on_what_a_restart_cannot_fix_and_says_which(tmp_path: Path
                                                                      ) -> None:
    # A malformed SMTP_URL stops the scheduler at its start: restarting it would not help.
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/flowkit.db",
               SMTP_URL="smtp://mailer:smtp-s3cret@mail.example.com?bogus=1")
    result = subprocess.run(
        [sys.executable, "-m", "flowkit.cli", "run", "--flows", "tests.integration.flows",
         "--processes", "1"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 2
    assert "stopping: the scheduler cannot start, and a restart would not help" in \
        result.stdout
    assert "flowkit scheduler: SMTP_URL" in result.stderr
    assert "smtp-s3cret" not in result.stdout + result.stderr
    assert "restarting" not in result.stdout


def test_flowkit_run_on_a_database_that_does_not_exist_says_so_in_one_line(
        pg: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    missing = sa.engine.make_url(pg).set(database="flowkit_no_such_db")
    env = _env(tmp_path, DATABASE_URL=missing.render_as_string(hide_password=False))
    result = subprocess.run([sys.executable, "-m", "flowkit.cli", "run"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    # one error line (this folder has no flows, so a warning says that too)
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert "does not exist" in line and "create it" in line


def _pages(path: Path) -> tuple[int, int]:
    """The pages the database file's header counts (what checkpoints copied into it),
    and the pages SQLite sees through its log (what is committed)."""
    in_file = int.from_bytes(path.read_bytes()[28:32], "big")
    with sqlite3.connect(path) as conn:
        committed = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return in_file, committed


def _kill_one_mid_burst(system: System, kind: str) -> dict[str, int]:
    """Start the system on 1,000 runs, kill -9 its ``kind`` child (worker, scheduler)
    mid-burst, and wait for a new one and for every run; returns the ledger's figures."""
    system.start(2, "--threads", "2")
    system.emit(1000, wait=1)
    wait_until(lambda: len(system.effect_lines()) >= 200, 60, "200 actions done")
    killed = system.child(kind)
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: killed not in system.children() and len(system.children()) >= 3,
               10, f"a new {kind} in the dead one's place")
    wait_until(lambda: system.statuses()["completed"] == 1000, 120, "1,000 completed runs")
    return system.check_ledger(1000)


def _on_sqlite(tmp_path: Path) -> tuple[Path, System]:
    path = tmp_path / "flowkit.db"
    url = f"sqlite:///{path}"
    env = _env(tmp_path, DATABASE_URL=url, FLOWKIT_TEST_ACTION_SECONDS="0.002")
    return path, System(env, tmp_path, url)


def test_on_sqlite_the_scheduler_killed_with_9_loses_no_run_and_checkpoints_again(
        tmp_path: Path) -> None:
    path, system = _on_sqlite(tmp_path)
    try:
        # the scheduler may die mid-checkpoint: SQLite's log holds
        figures = _kill_one_mid_burst(system, "scheduler")
        # the new scheduler copies the workers' log into the database file
        copied = wait_until(lambda: (lambda p: p[0] == p[1])(_pages(path)), 10,
                            "every committed page in the database file")
        system.shut_down()
        FIGURES.append(f"on SQLite, kill -9 the scheduler, 1,000 runs in flight: {figures}; "
                       f"the log in the database file {copied:.1f} s after the last run")
    finally:
        system.stop()


def test_on_sqlite_a_worker_killed_with_9_mid_batch_loses_no_run_and_holds_no_lane(
        tmp_path: Path) -> None:
    # On SQLite the workers' batches compute outside the write lock, holding a lane
    # (a file lock) each: the killed worker's batches, read but not written, are done
    # again by the others, and its lanes are free at once.
    path, system = _on_sqlite(tmp_path)
    try:
        figures = _kill_one_mid_burst(system, "worker")
        system.shut_down()
        lanes = Lanes(path)
        names = sorted(lane.name for lane in lanes.folder.iterdir())
        assert "timers" in names and any(n.startswith("shard-") for n in names)
        for name in names:  # none is left held
            lane = lanes.take(name)
            assert lane is not None, name
            lane.release()
        FIGURES.append(f"on SQLite, kill -9 a worker, 1,000 runs in flight: {figures}")
    finally:
        system.stop()
