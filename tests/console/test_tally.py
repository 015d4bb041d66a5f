"""The flows page's counts stay exact while they are kept incrementally: runs that end,
days that pass, counts taken before and after each settles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa

from flowkit.clock import VirtualClock
from flowkit.console.tally import Tally
from flowkit.runtime.engine import Engine
from flowkit.store import schema as t
from tests.console import flows

START = pendulum.datetime(2026, 5, 1, 23, 30, tz="UTC")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Engine, VirtualClock, Tally]]:
    clock = VirtualClock(START)
    engine = Engine(f"sqlite:///{tmp_path}/tally.db", [flows], clock=clock, action_attempts=1)
    yield engine, clock, Tally(engine.db, clock, live_seconds=0)
    engine.close()


def _held(engine: Engine) -> tuple[dict[str, dict[str, int]], dict[str, dict[dt.date, int]]]:
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(t.runs.c.flow, t.runs.c.status, t.runs.c.created_at))
        counts: dict[str, dict[str, int]] = {}
        days: dict[str, dict[dt.date, int]] = {}
        for flow, status, created in rows:
            counts.setdefault(flow, {})[status] = counts.get(flow, {}).get(status, 0) + 1
            day = created.date()
            days.setdefault(flow, {})[day] = days.get(flow, {}).get(day, 0) + 1
    return counts, days


def _check(engine: Engine, clock: VirtualClock, tally: Tally) -> None:
    counts, days = _held(engine)
    today = clock.now().date()
    with engine.db.connect() as conn:
        assert tally.status_counts(conn)[0] == counts
        starts = tally.starts_per_day(conn, today)
    for flow, per_day in days.items():
        expected = [per_day.get(today - dt.timedelta(days=29 - i), 0) for i in range(30)]
        assert starts.get(flow, [0] * 30) == expected, flow


def test_counts_stay_exact_as_runs_end_and_days_pass(
        shop: tuple[Engine, VirtualClock, Tally]) -> None:
    engine, clock, tally = shop
    for day in range(6):
        # a few orders a day, some cancelled at once, some after their first wait
        for n in range(3):
            user = f"u{day}-{n}"
            engine.emit("order.placed", user=user, amount=50 * n + 20)
            if n == 0:
                engine.emit("order.cancelled", user=user)
        _check(engine, clock, tally)
        for minutes in (5, 11, 40, 24 * 60 - 56):  # across the settling margin, and midnight
            clock.set(clock.now().add(minutes=minutes))
            engine.tick()
            _check(engine, clock, tally)
        engine.emit("order.cancelled", user=f"u{day}-1")
        _check(engine, clock, tally)
    for _ in range(4):  # the waits run out: runs complete, days of starts leave the window
        clock.set(clock.now().add(days=10))
        engine.tick()
        _check(engine, clock, tally)
    with engine.db.connect() as conn:
        assert tally.status_counts(conn)[0]["checkout"] == {"completed": 6, "exited": 12}
