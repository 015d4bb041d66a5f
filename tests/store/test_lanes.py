"""Lanes keep two batches off the same events and timers on a SQLite file: a lane is
held by one batch at a time, and a killed holder's lane is free at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from flowkit.store import database
from flowkit.store.lanes import Lanes


def test_two_batches_never_hold_one_lane_and_a_killed_holder_lets_go(tmp_path: Path) -> None:
    lanes = Lanes(tmp_path / "flowkit.db")
    held = lanes.take("shard-3")
    assert held is not None
    assert lanes.take("shard-3") is None
    assert lanes.take("shard-4") is not None
    held.release()
    again = lanes.take("shard-3")
    assert again is not None
    again.release()
    # a process holding the lane, killed with -9
    code = ("import sys, time; from pathlib import Path; "
            "from flowkit.store.lanes import Lanes; "
            "lane = Lanes(Path(sys.argv[1])).take('timers'); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "flowkit.db")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert lanes.take("timers") is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        assert lanes.take("timers") is not None
    finally:
        holder.kill()


def test_only_a_sqlite_file_has_lanes(tmp_path: Path) -> None:
    assert Lanes.of(database.create_engine(f"sqlite:///{tmp_path}/a.db")) is not None
    assert Lanes.of(database.create_engine("sqlite://")) is None
    # (no connection is made: the URL's dialect says it)
    assert Lanes.of(database.create_engine("postgresql://nobody@127.0.0.1:1/none")) is None


def test_a_lane_is_free_once_released_though_a_child_forked_while_it_was_held(
        tmp_path: Path) -> None:
    # A child forked while the lane is held (multiprocessing, an action's os.fork)
    # shares its open file; the child lets go of its copy, so the release frees it.
    lanes = Lanes(tmp_path / "flowkit.db")
    held = lanes.take("timers")
    assert held is not None
    ready, told = os.pipe()
    child = os.fork()
    if child == 0:  # the child lives on while the parent releases
        import time
        os.write(told, b"x")  # (past the fork's hooks: os.fork has returned)
        time.sleep(10)
        os._exit(0)
    try:
        assert os.read(ready, 1) == b"x"
        held.release()
        again = lanes.take("timers")
        assert again is not None
        again.release()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os.close(ready)
        os.close(told)
