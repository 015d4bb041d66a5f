"""The boundary: an event that no column can hold, or that passes the limits, is refused
with one error naming the event and the field, and nothing of its call is stored; and
event values that look like flowkit's own JSON encoding come back as they were sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa

from flowkit import Engine, Run, action, on, wait
from flowkit.clock import VirtualClock
from flowkit.errors import ConfigurationError, InvalidEventError
from flowkit.runtime.validation import Limits, as_event
from flowkit.store import schema as t

START = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
received: list[Any] = []


@action
def keep(value: Any) -> None:
    received.append(value)


@on("val.echo")
async def keeps_its_value(run: Run) -> None:
    value = run.event["value"]
    await wait(seconds=1)
    await keep(value)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def engine(database_url: str, clock: VirtualClock) -> Iterator[Engine]:
    received.clear()
    with Engine(database_url, [keeps_its_value], clock=clock,
                limits=Limits(max_event_bytes=4_000, max_string_length=500, max_depth=4,
                              max_list_length=20)) as engine:
        yield engine


def stored_events(engine: Engine) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar())


def refused(engine: Engine, *events: dict[str, Any]) -> InvalidEventError:
    """Emit ``events`` in one call, expecting a refusal and nothing stored."""
    with pytest.raises(InvalidEventError) as caught:
        engine.emit_many([{"event": "val.echo", "user": "ok", "value": 1}, *events])
    assert stored_events(engine) == 0
    assert engine.runs() == []
    return caught.value


def test_a_value_longer_than_its_column_is_refused_and_nothing_is_stored(
        engine: Engine) -> None:
    error = refused(engine, {"event": "user.enrolled", "user": "u1", "course": "c" * 201})
    assert (error.index, error.event, error.field) == (1, "user.enrolled", "course")
    assert "201 characters long, more than the 200" in str(error)


def test_a_user_id_longer_than_its_column_is_refused(engine: Engine) -> None:
    assert refused(engine, {"event": "val.echo", "user": "u" * 201}).field == "user"


def test_a_date_field_that_does_not_parse_is_refused(engine: Engine) -> None:
    error = refused(engine, {"event": "certificate.awarded", "user": "u1",
                             "certificate": "python", "expires_at": "next tuesday"})
    assert error.field == "expires_at" and "is not a date" in str(error)


def test_a_date_field_given_as_a_date_is_stored_as_iso_text(engine: Engine) -> None:
    engine.emit("certificate.awarded", "u1", certificate="python",
                expires_at=pendulum.datetime(2027, 1, 1, tz="UTC"))
    with engine.db.connect() as conn:
        (payload,) = conn.execute(sa.select(t.events.c.payload)).scalars()
    assert payload["expires_at"] == "2027-01-01T00:00:00+00:00"


@pytest.mark.parametrize(("value", "field", "problem"), [
    ({"city": "Par\x00is"}, "value.city", "NUL character"),
    ("x" * 501, "value", "501 characters long"),
    ({"a": {"b": {"c": {"d": {"e": 1}}}}}, "value.a.b.c.d", "nests more than 4 levels"),
    (list(range(21)), "value", "21 items"),
    ([["x" * 400] * 10], None, "bytes as JSON, more than the limit of 4,000"),
])
def test_the_payload_limits_refuse_with_the_field_at_fault(
        engine: Engine, value: Any, field: str | None, problem: str) -> None:
    error = refused(engine, {"event": "val.echo", "user": "u1", "value": value})
    assert error.field == field and problem in str(error)


def test_a_reserved_field_name_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidEventError) as caught:
        as_event("val.echo", "u1", {"user": "someone else"})
    assert caught.value.field == "user" and "reserved" in str(caught.value)


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env({"FLOWKIT_MAX_DEPTH": "3", "FLOWKIT_MAX_EVENT_BYTES": "100"})
    assert (limits.max_depth, limits.max_event_bytes, limits.max_list_length) == (3, 100,
                                                                                   1_000)
    with pytest.raises(ConfigurationError, match="FLOWKIT_MAX_DEPTH"):
        Limits.from_env({"FLOWKIT_MAX_DEPTH": "deep"})


@pytest.mark.parametrize("value", [
    {"$date": "x"}, {"$datetime": "2026-01-01T00:00:00", "tz": "UTC"}, {"$set": [1]},
    {"$seconds": 5}, {"$$date": "y"}, [{"$date": "2026-01-01"}],
])
def test_values_that_look_like_flowkits_encoding_round_trip_unchanged(
        engine: Engine, clock: VirtualClock, value: Any) -> None:
    engine.emit("val.echo", "u1", value=value)
    (run,) = engine.runs(user="u1")
    assert run.event["value"] == value and run.locals["value"] == value
    clock.set(START.add(seconds=2))
    engine.tick()
    assert received == [value]
    assert engine.runs(user="u1")[0].status == "completed"
    assert engine.actions(user="u1")[0].args == {"value": value}
