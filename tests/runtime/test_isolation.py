"""A custom action that writes through the platform and then raises keeps none of its
writes, and an action that fails at the database fails that action only."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest
import redis
import sqlalchemy as sa

from flowkit import Engine, Run, action, on, wait
from flowkit.clock import VirtualClock
from flowkit.lms.platform import PlatformView
from flowkit.runtime import isolation

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


@action
def tag_then_fail(*, run: Run) -> None:
    run.platform.add_tag(run.user.id, "half-done", key=run.idempotency_key())
    if run.user.fields.get("fails"):
        raise RuntimeError("the second half of the action failed")


@action
def tag(name: str, *, run: Run) -> None:
    run.platform.add_tag(run.user.id, name, key=run.idempotency_key())


@on("iso.tag_then_fail")
async def writes_then_raises(run: Run) -> None:
    await tag_then_fail()


@on("iso.long_tag")
async def writes_too_long(run: Run) -> None:
    await tag(str(run.event["tag"]))
    await wait(seconds=1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    clock = VirtualClock(START)
    with Engine(database_url, [writes_then_raises, writes_too_long], clock=clock,
                action_attempts=1) as engine:
        yield engine


def tags(engine: Engine, user: str) -> list[str]:
    return PlatformView(engine.db, engine.platform, engine.clock.now).tags(user)


def test_an_action_that_writes_then_raises_keeps_none_of_its_writes(engine: Engine) -> None:
    engine.add_user("bad", fields={"fails": True})
    engine.add_user("good")
    engine.emit("iso.tag_then_fail", "bad")
    engine.emit("iso.tag_then_fail", "good")
    (run,) = engine.runs(user="bad")
    assert run.status == "parked" and "second half" in (run.reason or "")
    assert tags(engine, "bad") == []
    assert tags(engine, "good") == ["half-done"]


@pytest.mark.postgres
def test_an_action_failing_at_the_database_fails_that_action_only(
        engine: Engine, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite does not enforce a column's length")
    engine.emit_many([{"event": "iso.long_tag", "user": "long", "tag": "t" * 300},
                      {"event": "iso.long_tag", "user": "short", "tag": "ok"}])
    (long_run,) = engine.runs(user="long")
    assert long_run.status == "parked"
    assert "StringDataRightTruncation" in (long_run.reason or "")
    assert engine.runs(user="short")[0].status == "waiting"
    assert tags(engine, "short") == ["ok"]


@pytest.mark.parametrize(("error", "split"), [
    (ValueError("a date that does not parse"), True),
    (sa.exc.DataError("INSERT", {}, Exception("value too long")), True),
    (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), True),
    (sa.exc.OperationalError("SELECT", {}, Exception("connection refused")), False),
    (sa.exc.ProgrammingError("SELECT", {}, Exception("no such column")), False),
    (sa.exc.DBAPIError("SELECT", {}, Exception("server closed the connection"),
                       connection_invalidated=True), False),
    (redis.exceptions.ConnectionError("Redis is down"), False),
    (ConnectionResetError("reset by peer"), False),
], ids=["python", "data", "integrity", "operational", "schema", "disconnect", "redis",
        "socket"])
def test_only_errors_of_the_data_split_a_batch(error: Exception, split: bool) -> None:
    assert isolation.isolatable(error) is split
