"""SQLite's write lock: a connection that only reads (``database.reading``) neither
waits for the batch holding the write lock nor holds up the next one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowkit import Engine
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
