"""SQLite's write lock and its WAL: a connection that only reads (``database.reading``)
neither waits for the batch holding the write lock nor holds up the next one; the
workers leave the WAL's checkpoints to the scheduler, which copies the WAL back into
the database file once a second."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.store import database
from flowkit.store import schema as t

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'flowkit.db'}"
    Engine(url, []).close()  # migrated
    engine = database.create_engine(url)
    yield engine
    engine.dispose()


def _add_users(engine: sa.Engine, ids: range) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(t.users), [{"id": f"u{n}", "fields": {}, "timezone": "UTC"}
                                          for n in ids])


def _count_users(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one())


class Writer:
    """A thread that holds SQLite's write lock, with a row not yet committed, until told
    to commit."""

    def __init__(self, engine: sa.Engine) -> None:
        self.holding, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(engine,), daemon=True)
        self.thread.start()
        assert self.holding.wait(10)

    def _run(self, engine: sa.Engine) -> None:
        with engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock
            conn.execute(sa.insert(t.users).values(id="uncommitted", fields={},
                                                   timezone="UTC"))
            self.holding.set()
            self.done.wait(20)

    def commit(self) -> None:
        self.done.set()
        self.thread.join(10)


def _no_wait(engine: sa.Engine) -> None:
    """Have the engine's connections fail at once where they would wait for the lock."""
    sa.event.listen(engine, "connect",
                    lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=0"))
    engine.dispose()


def test_a_reader_reads_what_is_committed_while_a_batch_holds_the_write_lock(
        file_db: sa.Engine) -> None:
    _add_users(file_db, range(3))
    _no_wait(file_db)
    writer = Writer(file_db)
    try:
        with database.reading(file_db) as conn:
            assert _count_users(conn) == 3  # the committed rows, not the writer's
        # any other transaction asks for the lock
        with pytest.raises(sa.exc.OperationalError, match="locked"), file_db.connect() as conn:
            _count_users(conn)
    finally:
        writer.commit()
    with database.reading(file_db) as conn:
        assert _count_users(conn) == 4


def test_a_reader_does_not_hold_up_a_writer(file_db: sa.Engine) -> None:
    _add_users(file_db, range(3))
    _no_wait(file_db)
    with database.reading(file_db) as conn:
        assert _count_users(conn) == 3  # its transaction is open, reading a snapshot
        _add_users(file_db, range(3, 5))  # the writer neither waits nor fails
        assert _count_users(conn) == 3  # the reader's snapshot stays as it was
    with database.reading(file_db) as conn:
        assert _count_users(conn) == 5


def test_a_checkpoint_copies_the_wal_into_the_database_file(file_db: sa.Engine) -> None:
    path = Path(file_db.url.database or "")
    database.checkpoint(file_db)
    before = path.stat().st_size
    _add_users(file_db, range(10_000))  # over a hundred pages, in the WAL
    assert path.stat().st_size == before
    result = database.checkpoint(file_db)
    assert result is not None
    pages, copied = result
    assert pages > 50 and copied == pages
    assert path.stat().st_size > before + 50 * 4096


def test_no_checkpoint_where_there_is_no_wal(tmp_path: Path) -> None:
    memory = database.create_engine("sqlite://")
    journal = sa.create_engine(f"sqlite:///{tmp_path / 'journal.db'}")  # not in WAL mode
    try:
        assert database.checkpoint(memory) is None
        with journal.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert database.checkpoint(journal) is None
    finally:
        memory.dispose()
        journal.dispose()


def test_the_logs_file_is_cut_back_once_the_log_starts_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "WAL_FILE_LIMIT", 64 * 1024)
    url = f"sqlite:///{tmp_path / 'flowkit.db'}"
    Engine(url, []).close()
    engine = database.create_engine(url)
    try:
        wal = tmp_path / "flowkit.db-wal"
        _add_users(engine, range(10_000))
        grown = wal.stat().st_size
        assert grown > 4 * 64 * 1024
        assert database.checkpoint(engine) is not None  # every page copied
        _add_users(engine, range(10_000, 10_001))  # the log starts again from the top
        assert wal.stat().st_size <= 64 * 1024
    finally:
        engine.dispose()


def test_the_schema_check_reads_while_a_batch_holds_the_write_lock(
        file_db: sa.Engine) -> None:
    _no_wait(file_db)
    writer = Writer(file_db)
    try:
        assert database.current_revision(file_db) == database.head_revision(file_db)
    finally:
        writer.commit()


def test_which_databases_are_held_in_memory(tmp_path: Path) -> None:
    assert database.in_memory("sqlite://") and database.in_memory("sqlite:///:memory:")
    assert not database.in_memory(f"sqlite:///{tmp_path / 'flowkit.db'}")
    assert not database.in_memory("postgresql+psycopg://postgres@127.0.0.1/postgres")


def test_leaving_checkpoints_keeps_an_in_memory_database() -> None:
    with Engine("sqlite://", []) as engine:  # its one connection holds the database
        database.leave_checkpoints(engine.db)
        assert engine.runs() == []  # its tables are still there


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_checkpoint_leaves_an_in_memory_databases_one_connection_alone(url: str) -> None:
    engine = database.create_engine(url)  # one connection, shared by the pool
    database.create_all(engine)
    with engine.connect() as conn:
        conn.execute(sa.insert(t.users).values(id="mid-transaction", fields={},
                                               timezone="UTC"))
        assert database.checkpoint(engine) is None
        assert _count_users(conn) == 1  # not rolled back under the transaction's feet
        conn.commit()
    with engine.connect() as conn:
        assert _count_users(conn) == 1


@pytest.mark.postgres
def test_no_checkpoint_on_postgresql(postgres_url: str) -> None:
    engine = database.create_engine(postgres_url)
    try:
        assert database.checkpoint(engine) is None
        database.leave_checkpoints(engine)  # nothing to leave: connections work as before
        with database.reading(engine) as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def _autocheckpoint(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_the_workers_connections_leave_checkpoints_to_the_scheduler(
        file_db: sa.Engine) -> None:
    assert _autocheckpoint(file_db) == 1000  # SQLite's own: the commit that passes it
    database.leave_checkpoints(file_db)
    assert _autocheckpoint(file_db) == database.WORKER_CHECKPOINT_PAGES


def _scheduler(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    import flowkit.runtime
    from flowkit.runtime.scheduler import Scheduler

    stand_in = types.SimpleNamespace(
        MAX_BATCHES_PER_MESSAGE=1, TIMERS_QUEUE="timers", ROUTE_QUEUE="route",
        fire_timers=types.SimpleNamespace(send=lambda: None),
        route_events=types.SimpleNamespace(send=lambda _shard: None))
    monkeypatch.setitem(sys.modules, "flowkit.runtime.worker", stand_in)
    monkeypatch.setattr(flowkit.runtime, "worker", stand_in, raising=False)
    broker = types.SimpleNamespace(namespace="test",
                                   client=types.SimpleNamespace(llen=lambda _: 0))
    clock = VirtualClock(pendulum.datetime(2026, 3, 2, tz="UTC"))
    return Scheduler(engine, broker, clock, batch_size=10)  # type: ignore[arg-type]


def test_the_scheduler_polls_while_a_batch_holds_the_write_lock_and_checkpoints(
        file_db: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowkit.runtime.scheduler as module

    now = [1000.0]
    monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    path = Path(file_db.url.database or "")
    _no_wait(file_db)
    scheduler = _scheduler(file_db, monkeypatch)
    scheduler.poll()
    _add_users(file_db, range(10_000))
    in_wal = path.stat().st_size
    writer = Writer(file_db)
    try:
        now[0] += 0.9
        scheduler.poll()  # within the second: reads, and does not wait for the writer
        assert path.stat().st_size == in_wal
        now[0] += 0.1
        scheduler.poll()  # a second on: the WAL goes into the database file
        assert path.stat().st_size > in_wal + 50 * 4096
    finally:
        writer.commit()


PROBE = """
from flowkit.runtime import worker

engine = worker.get_engine()
with engine.db.connect() as conn:
    print(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
worker.close_engine()
"""


def test_a_workers_engine_leaves_checkpoints_to_the_scheduler(redis_url: str,
                                                              tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=f"sqlite:///{tmp_path}/f.db",
               FLOWKIT_FLOWS="tests.runtime.flows", PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(database.WORKER_CHECKPOINT_PAGES)]
