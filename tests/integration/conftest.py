"""Real worker processes, schedulers, Redis and PostgreSQL.

Redis is the one at REDIS_URL when it is set (CI); with CI=true and no REDIS_URL the
tests fail. Elsewhere an embedded Redis is started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _truncate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    _truncate(postgres_url)
    return postgres_url


class Processes:
    """Starts flowkit processes against the test's services and stops them all."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, *args], env=self.env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, threads: int = 2) -> subprocess.Popen[bytes]:
        return self.start("-m", "dramatiq", "flowkit.runtime.worker", "--processes", "1",
                          "--threads", str(threads))

    def scheduler(self) -> subprocess.Popen[bytes]:
        return self.start("-m", "flowkit.cli", "scheduler", "--interval", "0.05")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def processes(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    env = dict(os.environ, DATABASE_URL=pg_url, REDIS_URL=redis_url,
               FLOWKIT_FLOWS="tests.integration.flows", FLOWKIT_LOG_LEVEL="WARNING",
               FLOWKIT_TEST_EFFECTS=str(tmp_path / "effects.txt"),
               PYTHONPATH=str(ROOT))
    procs = Processes(env)
    yield procs
    procs.stop()

