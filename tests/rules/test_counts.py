"""The cap counters on SQLite and PostgreSQL: in memory under row locks, or one upsert a
message (SQLite, and a careful batch's savepoints)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flowkit.rules.counts import counter_for
from flowkit.store import database
from flowkit.store.schema import message_counts

KEY = ("u1", "email", "day:2026-03-02")


def stored(engine: sa.Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(message_counts.c.count).where(
            message_counts.c.user_id == "u1")).scalar()


@pytest.mark.parametrize("careful", [False, True])
def test_a_counter_stops_at_the_limit_gives_back_and_persists(database_url: str,
                                                              careful: bool) -> None:
    engine = database.create_engine(database_url)
    database.upgrade(engine)
    with engine.begin() as conn:
        counter = counter_for(conn, lambda: [KEY, ("u2", "email", "day:2026-03-02")],
                              careful)
        assert [counter.take(KEY, 2) for _ in range(3)] == [True, True, False]
        counter.release([KEY])
        assert counter.take(KEY, 2)
        assert not counter.take(KEY, 2)
        assert counter.take(KEY, None)  # a high-priority message counts past the cap
        counter.flush()
    assert stored(engine) == 3
    with engine.begin() as conn:  # the next batch reads what this one wrote
        assert not counter_for(conn, lambda: [], careful).take(KEY, 3)
    engine.dispose()
