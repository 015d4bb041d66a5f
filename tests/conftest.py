"""Shared fixtures: databases on SQLite and PostgreSQL.

PostgreSQL is the one at ``DATABASE_URL`` when it is set (CI sets it to its server);
when ``CI=true`` and it is not set, or cannot be reached, the tests fail rather than
skip. Elsewhere an embedded PostgreSQL (pgserver) is started for the session.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
import sqlalchemy as sa

from flowkit.runtime.services import EmbeddedRedis
from flowkit.store import database
from flowkit.store.schema import metadata

IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    if IN_CI:
        pytest.fail("CI=true but DATABASE_URL is not set: CI must provide PostgreSQL")
    import pgserver  # an embedded PostgreSQL, for machines without one

    server = pgserver.get_server(tempfile.mkdtemp(prefix="flowkit-pg-"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, migrated to head, for this session."""
    for server_url in _postgres_server_url():
        admin = database.create_engine(server_url)
        name = f"flowkit_test_{uuid.uuid4().hex[:10]}"
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as error:
            pytest.fail(f"cannot reach PostgreSQL at {server_url}: {error}")
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        engine = database.create_engine(url)
        database.upgrade(engine)
        engine.dispose()
        try:
            yield url
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def _truncate(url: str) -> None:
    engine = database.create_engine(url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """An empty flowkit database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/flowkit.db"
        return
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    yield url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The Redis at REDIS_URL (CI; with CI=true and none, the tests fail), else an
    embedded one for the session."""
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            redis.Redis.from_url(url).ping()
        except redis.ConnectionError as error:
            pytest.fail(f"cannot reach Redis at {url}: {error}")
        yield url
        return
    if IN_CI:
        pytest.fail("CI=true but REDIS_URL is not set: CI must provide Redis")
    with EmbeddedRedis() as embedded:
        yield embedded.url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, its db (and only that db) emptied."""
    redis.Redis.from_url(redis_server).flushdb()
    return redis_server


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until it holds (a deadline, never a sleep as synchronisation);
    the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if condition():
            return time.monotonic() - began
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")
