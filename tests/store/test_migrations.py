"""The Alembic migrations build exactly the schema flowkit's tables declare."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from flowkit.errors import SchemaOutdatedError
from flowkit.store import database
from flowkit.store.schema import metadata


def test_migrations_create_the_declared_schema(database_url: str) -> None:
    # given a database migrated to head (the fixture's PostgreSQL is; SQLite is new)
    engine = database.create_engine(database_url)
    database.upgrade(engine)
    # then nothing differs between the migrated tables and the declared ones
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_reports_head(tmp_path: object) -> None:
    engine = database.create_engine(f"sqlite:///{tmp_path}/a.db")
    assert database.current_revision(engine) is None
    database.upgrade(engine)
    database.upgrade(engine)
    assert database.current_revision(engine) == database.head_revision(engine)
    engine.dispose()


def test_an_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: object) -> None:
    engine = database.create_engine(f"sqlite:///{tmp_path}/b.db")
    with pytest.raises(SchemaOutdatedError, match="flowkit db upgrade"):
        database.ensure_schema(engine, migrate=False)
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("flowkit_runs")
    engine.dispose()


@pytest.mark.postgres
def test_the_timers_index_is_built_without_blocking_timer_writes(postgres_url: str) -> None:
    # A plain CREATE INDEX would hold off every worker's timer writes while it builds on
    # a large table: on PostgreSQL migration 0008 builds it CONCURRENTLY, which only
    # runs outside a transaction.
    from alembic import command

    engine = database.create_engine(postgres_url)
    built: list[tuple[str, bool]] = []

    def seen(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        if "INDEX" in statement and "timers" in statement:
            built.append((" ".join(statement.split()), conn.connection.dbapi_connection
                          .autocommit))  # type: ignore[union-attr]

    with engine.connect() as connection:
        config = database._alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        database.upgrade(engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
        database.upgrade(engine)  # the session's database stays at head whatever happened
        engine.dispose()
    assert ("CREATE INDEX CONCURRENTLY ix_flowkit_timers_due_at_run_id ON flowkit_timers "
            "(due_at, run_id)", True) in built
    assert ("DROP INDEX CONCURRENTLY ix_flowkit_timers_due_at", True) in built
