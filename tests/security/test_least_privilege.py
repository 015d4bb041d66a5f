"""Least privilege on PostgreSQL (issue 10, item 6): migrations run as the database's
owner, workers and schedulers as a role with data privileges only. The SQL here is the
one docs/security.md gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import attrs
import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, on, wait
from flowkit.lms import add_tag, send_notification
from flowkit.store import database

pytestmark = pytest.mark.postgres


@attrs.frozen
class Roles:
    owner_url: str
    worker_url: str


def _grants(owner: str, worker: str) -> list[str]:
    """What the owner grants the worker role, after each migration (docs/security.md)."""
    return [
        f'GRANT CONNECT ON DATABASE "{{db}}" TO "{worker}"',
        f'GRANT USAGE ON SCHEMA public TO "{worker}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{worker}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{worker}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{worker}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT USAGE, SELECT ON SEQUENCES TO "{worker}"',
    ]


@pytest.fixture
def roles(postgres_url: str) -> Iterator[Roles]:
    """A fresh database owned by a new role, and a worker role; all dropped after."""
    admin_url = sa.make_url(postgres_url).set(database="postgres")
    suffix = uuid.uuid4().hex[:8]
    db, owner, worker = f"fk_lp_{suffix}", f"fk_owner_{suffix}", f"fk_worker_{suffix}"
    password = uuid.uuid4().hex
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'")
        conn.exec_driver_sql(f"CREATE ROLE \"{worker}\" LOGIN PASSWORD '{password}'")
        conn.exec_driver_sql(f'CREATE DATABASE "{db}" OWNER "{owner}"')
    with sa.create_engine(admin_url.set(database=db), isolation_level="AUTOCOMMIT"
                          ).connect() as conn:  # PostgreSQL < 15 lets everyone create
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f'GRANT CREATE ON SCHEMA public TO "{owner}"')
    url = admin_url.set(database=db, password=password)
    try:
        yield Roles(url.set(username=owner).render_as_string(hide_password=False),
                    url.set(username=worker).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{worker}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{owner}"')
        admin.dispose()


@on("lp.go")
async def least(run: Run) -> None:
    await add_tag("started")
    await send_notification("Hello {{ user }}")
    await wait(hours=1)
    await add_tag("an hour later")


def _migrate_as_owner(roles: Roles) -> None:
    owner = database.create_engine(roles.owner_url)
    database.upgrade(owner)
    name, worker = (sa.make_url(roles.owner_url).database,
                    sa.make_url(roles.worker_url).username)
    with owner.begin() as conn:
        for grant in _grants(str(sa.make_url(roles.owner_url).username), str(worker)):
            conn.exec_driver_sql(grant.format(db=name))
    owner.dispose()


def test_workers_run_with_data_privileges_only_and_ddl_is_refused(roles: Roles) -> None:
    _migrate_as_owner(roles)
    start = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
    with Engine(roles.worker_url, flows=[least], migrate=False) as engine:
        engine.add_user("u1", name="Ada", email="ada@example.com")
        engine.emit("lp.go", user="u1")
        engine.tick(start.add(years=10))  # past the hour's wait, whatever today is
        (run,) = engine.runs(user="u1")
        assert run.status == "completed", run.reason
        with engine.db.connect() as conn:
            tags = {r[0] for r in conn.exec_driver_sql("SELECT tag FROM lms_tags")}
        assert tags == {"started", "an hour later"}

        for ddl in ("CREATE TABLE intruder (id int)", "DROP TABLE flowkit_runs",
                    "ALTER TABLE flowkit_users ADD COLUMN x int",
                    "TRUNCATE flowkit_events",
                    "CREATE INDEX ix_intruder ON flowkit_users (name)"):
            with pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be "
                               r"owner"), engine.db.begin() as conn:
                conn.exec_driver_sql(ddl)


def test_the_worker_role_cannot_migrate(roles: Roles) -> None:
    worker = database.create_engine(roles.worker_url)
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            database.upgrade(worker)
    finally:
        worker.dispose()
