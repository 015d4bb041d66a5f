"""The fault suite's fixtures: `flowkit run` as a real process tree over the real
PostgreSQL (behind a proxy the tests cut) and Redis (the session's own db, or a
redis-server the test starts and restarts), and the counts every scenario asserts.

Each scenario records its figures (runs, duplicates, recovery time, log lines) in
``FIGURES``; they are printed at the end of the session, for docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.store import schema as t
from tests.conftest import _truncate, wait_until
from tests.faults.proxy import Proxy
from tests.integration import flows

ROOT = Path(__file__).resolve().parents[2]
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "fault suite figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def pg(postgres_url: str) -> str:
    """The session's test database on the real PostgreSQL, emptied."""
    _truncate(postgres_url)
    return postgres_url


@pytest.fixture
def proxy(pg: str) -> Iterator[Proxy]:
    url = sa.engine.make_url(pg)
    folder = url.query.get("host")  # an embedded PostgreSQL listens on a Unix socket
    target = (f"{folder}/.s.PGSQL.{url.port or 5432}" if isinstance(folder, str) and
              folder.startswith("/") else (url.host or "127.0.0.1", url.port or 5432))
    server = Proxy(target).start()
    yield server
    server.cut()


def through(url: str, proxy: Proxy) -> str:
    return (sa.engine.make_url(url).difference_update_query(["host"])
            .set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))


class _Stored:
    """Events stored, not nudged: the scheduler finds them in SQL."""

    def events_appended(self, engine: Engine, shards: set[int]) -> None:
        pass


class System:
    """A `flowkit run` process tree, and what it did."""

    def __init__(self, env: dict[str, str], folder: Path, pg: str) -> None:
        self.env = env
        self.folder = folder
        self.pg = pg
        self.effects = folder / "effects.txt"
        self.out = folder / "out.txt"
        self.err = folder / "err.txt"
        self.proc: subprocess.Popen[bytes] | None = None
        self.db = sa.create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1))

    def start(self, processes: int = 2, *args: str) -> subprocess.Popen[bytes]:
        with open(self.out, "ab") as out, open(self.err, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flowkit.cli", "run", "--flows",
                 "tests.integration.flows", "--processes", str(processes), *args],
                env=self.env, cwd=self.folder, stdout=out, stderr=err,
                start_new_session=True)
        wait_until(lambda: len(self.children()) >= processes + 1, 90,
                   "flowkit run's children")
        return self.proc

    def output(self) -> str:
        return self.out.read_text()

    def children(self, pid: int | None = None) -> list[int]:
        pid = pid or (self.proc.pid if self.proc else 0)
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text()
                    .split()]
        except OSError:
            return []

    def child(self, kind: str) -> int:
        for pid in self.children():
            if kind in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "):
                return pid
        raise LookupError(kind)

    def emit(self, n: int, wait: float = 1.0) -> None:
        with Engine(self.pg, [flows.two_steps], dispatcher=_Stored()) as engine:
            engine.emit_many([{"event": "it.started", "user": f"u{i}", "wait": wait}
                              for i in range(n)])

    def statuses(self) -> Counter[str]:
        with self.db.connect() as conn:
            return Counter({status: n for status, n in conn.execute(
                sa.select(t.runs.c.status, sa.func.count()).group_by(t.runs.c.status))})

    def effect_lines(self) -> list[str]:
        return self.effects.read_text().splitlines() if self.effects.exists() else []

    def check_ledger(self, n: int) -> dict[str, int]:
        """Every run completed, each action once in the ledger; the actions executed
        more than once (at least once is the promise), counted."""
        with self.db.connect() as conn:
            keys = list(conn.execute(sa.select(t.actions.c.key)).scalars())
            unfinished = conn.execute(sa.select(sa.func.count()).where(
                t.runs.c.status != "completed")).scalar()
        assert unfinished == 0
        assert len(keys) == len(set(keys)) == 2 * n
        executed = Counter(line.split()[0] for line in self.effect_lines())
        assert set(executed) == set(keys)  # every action ran, none outside the ledger
        return {"runs": n, "actions": len(keys),
                "executed_twice_or_more": sum(1 for c in executed.values() if c > 1)}

    def log_lines(self) -> list[str]:
        return self.err.read_text().splitlines() if self.err.exists() else []

    def shut_down(self) -> None:
        """Stop it with SIGTERM, as an operator would, and check it left nothing behind:
        no process, no state file, no timer."""
        assert self.proc is not None
        children = self.children()
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not (self.folder / ".flowkit" / "run.json").exists()
        with self.db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.timers)).scalar() == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(60)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.db.dispose()


@pytest.fixture
def system_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, REDIS_URL=redis_url, FLOWKIT_FLOWS="tests.integration.flows",
                FLOWKIT_TEST_EFFECTS=str(tmp_path / "effects.txt"), PYTHONPATH=str(ROOT),
                FLOWKIT_LOG_LEVEL="WARNING", FLOWKIT_LOG_INTERVAL="2")


@pytest.fixture
def system(system_env: dict[str, str], proxy: Proxy, pg: str, tmp_path: Path
           ) -> Iterator[System]:
    """`flowkit run` on the test database through the proxy, and the session's Redis."""
    env = dict(system_env, DATABASE_URL=through(pg, proxy))
    running = System(env, tmp_path, pg)
    yield running
    running.stop()
