"""A worker process's garbage collector, tuned once its engine is made: what the process
loaded is left out of the collector's passes, and the garbage cycles its batches make
are still freed without anyone asking."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, weakref
from flowkit.runtime import worker

assert gc.get_freeze_count() == 0
worker.get_engine()
print("frozen", gc.get_freeze_count() > 1000)

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

first = cycle()
for _ in range(200_000):  # what batches allocate, no gc.collect() anywhere
    cycle()
print("freed", first() is None)
worker.close_engine()
"""


def test_a_worker_freezes_what_it_loaded_and_still_frees_cycles(redis_url: str,
                                                                 tmp_path: Path) -> None:
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
               FLOWKIT_FLOWS="tests.runtime.flows", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["frozen", "True", "freed", "True"]
