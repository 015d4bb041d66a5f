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
