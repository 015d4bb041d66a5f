"""Connecting to the database and keeping its schema current.

``DATABASE_URL`` names the database; without it flowkit uses a SQLite file,
``flowkit.db`` in the working directory. ``postgresql://`` URLs use psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import StaticPool

from flowkit import _json
from flowkit.errors import SchemaOutdatedError
from flowkit.store.schema import metadata

DEFAULT_URL = "sqlite:///flowkit.db"
MEMORY_URL = "sqlite://"
_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``DATABASE_URL``, else the SQLite default."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def in_memory(url: str | sa.URL) -> bool:
    """Whether ``url`` names a SQLite database held in memory, which each connection
    would see empty: flowkit gives it one connection, shared, with nothing on disk."""
    url = sa.engine.make_url(url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: str | None = None) -> sa.Engine:
    """A SQLAlchemy engine for ``url`` set up the way flowkit needs it."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        # psycopg prepares a statement after five runs, and PostgreSQL may then keep a
        # generic plan made while a table was small: a batch's `id = ANY(...)` lookup
        # went on seq-scanning users after they had grown to thousands (0.75 s a
        # batch). Custom plans cost a little planning per statement and stay right.
        return sa.create_engine(
            url, pool_pre_ping=True, hide_parameters=not debug_sql(),
            connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
            json_serializer=_json.encode_column, json_deserializer=_json.decode_column)
    options: dict[str, Any] = {}
    memory = in_memory(url)
    if memory:  # one connection, shared, or every connection sees its own empty database
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        options = {"connect_args": {"timeout": 30}}
    engine = sa.create_engine(url, hide_parameters=not debug_sql(),
                              json_serializer=_json.encode_column,
                              json_deserializer=_json.decode_column, **options)
    _sqlite_transactions(engine, wal=not memory)
    return engine


def debug_sql() -> bool:
    """Whether database errors and logs show a statement's bind parameters (user ids,
    action arguments): only with FLOWKIT_DEBUG_SQL=1, never by default."""
    return os.environ.get("FLOWKIT_DEBUG_SQL", "").lower() in ("1", "true", "yes", "on")


# A SQLite database in WAL mode copies its log back into the database file in a
# checkpoint. By default the commit that takes the log past 1,000 pages runs it, in the
# worker thread of that batch, mostly waiting on the disk: 15 to 17 % of the time from
# S5's batches taking the write lock to their commits returning (docs/performance.md,
# round seven). The workers leave it to the scheduler (``checkpoint``, once a second,
# in its own process) and run one themselves only past this many pages, should no
# scheduler run.
WORKER_CHECKPOINT_PAGES = 20_000
WAL_FILE_LIMIT = 64 * 1024 * 1024  # bytes the log's file keeps once it rewinds


def leave_checkpoints(engine: sa.Engine) -> None:
    """Have ``engine``'s SQLite connections leave the WAL's checkpoints to the scheduler
    (up to ``WORKER_CHECKPOINT_PAGES``): what the workers do. A no-op on PostgreSQL."""
    if engine.dialect.name != "sqlite" or in_memory(engine.url):
        return  # (in memory: no log, and disposing the one connection drops the database)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={WORKER_CHECKPOINT_PAGES}")

    engine.dispose()  # connections already made get it when made again


def checkpoint(engine: sa.Engine) -> tuple[int, int] | None:
    """Copy what a SQLite database's WAL holds back into the database file, neither
    waiting for nor blocking readers and writers (a PASSIVE checkpoint). Returns the
    pages in the WAL and how many of them are now in the database file; None on
    PostgreSQL, on a database with no WAL (in memory), or while another checkpoint
    runs."""
    if engine.dialect.name != "sqlite" or in_memory(engine.url):
        return None  # (in memory: the pool's one connection may be in use elsewhere)
    # on the driver's connection: SQLAlchemy's would begin a transaction first (below),
    # and a checkpoint inside one cannot copy anything
    raw = engine.raw_connection()
    try:
        busy, pages, copied = raw.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        raw.close()
    return None if busy or pages < 0 else (pages, copied)


_READS_ONLY = "flowkit_reads_only"


def reading(engine: sa.Engine) -> sa.Connection:
    """A connection that only reads (``with reading(engine) as conn``). On SQLite its
    transactions begin DEFERRED and read a snapshot, so that they neither wait for the
    batch that holds the write lock nor hold up the next one; every other transaction
    begins IMMEDIATE (below). Elsewhere it is a plain connection."""
    return engine.connect().execution_options(**{_READS_ONLY: True})


def reads_only(conn: sa.Connection, only: bool = True) -> None:
    """Have ``conn``'s next transactions read a snapshot (``only``) or write, as
    ``reading`` does."""
    conn.execution_options(**{_READS_ONLY: only})


def _sqlite_transactions(engine: sa.Engine, *, wal: bool) -> None:
    # pysqlite begins transactions lazily and on its own terms, which breaks savepoints
    # and lets two processes read the same due timer before either writes. We turn that
    # off and begin every transaction IMMEDIATE: a writer holds the lock from its first
    # read, which is SQLite's equivalent of FOR UPDATE SKIP LOCKED's exclusion.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint lets the log start again from its beginning, but its file stays
            # as large as it grew (say while a long read kept the log from starting
            # again); this cuts the file back when the log starts again.
            cursor.execute(f"PRAGMA journal_size_limit={WAL_FILE_LIMIT}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        reads_only = connection.get_execution_options().get(_READS_ONLY)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def _alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (``flowkit db upgrade``)."""
    config = _alembic_config(engine)
    # Alembic begins and commits the transactions itself (env.py), so that a migration
    # can step outside them (an index built CONCURRENTLY on PostgreSQL).
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision(engine: sa.Engine) -> str:
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema(engine: sa.Engine, *, migrate: bool) -> None:
    """Make sure the schema is current: migrate it, or say how to."""
    head = head_revision(engine)
    current = current_revision(engine)
    if current == head:
        return
    if not migrate:
        raise SchemaOutdatedError(engine.url.render_as_string(), current, head)
    upgrade(engine)


def create_all(engine: sa.Engine) -> None:
    """Create the tables straight from the schema (for throwaway in-memory databases;
    ``tests/store/test_migrations.py`` proves the migrations build the same schema)."""
    import flowkit.lms.tables  # noqa: F401  (the built-in platform's tables)

    metadata.create_all(engine)
