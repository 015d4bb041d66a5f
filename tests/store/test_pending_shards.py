"""The scheduler's look for shards with events to route: every such shard, nothing
else, at any backlog."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from flowkit import Engine
from flowkit.clock import VirtualClock
from flowkit.serve.ingest import DeferredDispatcher
from flowkit.store import Store
from flowkit.store.repository import SHARDS, shard_of


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with Engine(database_url, [], dispatcher=DeferredDispatcher()) as engine:
        yield engine


def _pending(engine: Engine) -> dict[int, pendulum.DateTime]:
    with engine.db.connect() as conn:
        return Store(engine.db).pending_shards(conn)


def test_every_shard_with_events_waiting_and_none_other(engine: Engine) -> None:
    assert _pending(engine) == {}
    engine.emit_many([{"event": "course.enrolled", "user": f"u{n}"} for n in range(200)])
    shards = {shard_of(f"u{n}") for n in range(200)}
    assert len(shards) == SHARDS  # 200 users reach every shard
    assert set(_pending(engine)) == shards


def test_a_routed_shard_is_no_longer_pending(engine: Engine) -> None:
    engine.emit_many([{"event": "course.enrolled", "user": f"u{n}"} for n in range(40)])
    store = Store(engine.db)
    with engine.db.begin() as conn:
        events = store.unrouted_events(conn, 1000)
        first = shard_of(events[0].user_id)
        store.mark_routed(conn, [e.seq for e in events if shard_of(e.user_id) == first])
    pending = _pending(engine)
    assert first not in pending
    assert set(pending) == {shard_of(e.user_id) for e in events} - {first}


def test_the_time_is_that_of_the_shards_first_waiting_event_in_order(
        database_url: str) -> None:
    """First in the shard's order (by sequence), not the earliest stamp: an event
    stamped earlier but stored later does not move the shard's time."""
    first = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
    late = VirtualClock(first.subtract(hours=1))  # another server, its clock behind
    with Engine(database_url, [], clock=VirtualClock(first),
                dispatcher=DeferredDispatcher()) as engine, \
            Engine(database_url, [], clock=late, dispatcher=DeferredDispatcher()) as behind:
        engine.emit("course.enrolled", "u1")
        behind.emit("course.enrolled", "u1", course="c2")  # stored second, stamped earlier
        assert _pending(engine) == {shard_of("u1"): first}
