"""``flowkit.clock.later``: a wait's wake-up moment."""

import datetime as dt

import pendulum

from flowkit.clock import later


def test_later_in_utc_is_the_same_pendulum_moment_as_pendulums_own_arithmetic() -> None:
    start = pendulum.datetime(2026, 3, 28, 23, 59, 59, 999_999, tz="UTC")
    delay = dt.timedelta(days=2, hours=1, microseconds=1)
    woken = later(start, delay)
    assert isinstance(woken, pendulum.DateTime)
    assert woken.tzinfo is pendulum.UTC
    assert woken == start + delay
    assert woken.isoformat() == "2026-03-31T01:00:00+00:00"


def test_later_in_a_zone_with_summer_time_counts_elapsed_time_across_the_change() -> None:
    # Paris moves its clocks forward on 2026-03-29: 26 hours after noon on the 28th is
    # 15:30 local time, not the 14:30 a wall-clock sum would give.
    start = pendulum.datetime(2026, 3, 28, 12, 30, tz="Europe/Paris")
    woken = later(start, dt.timedelta(days=1, hours=2))
    assert woken.isoformat() == "2026-03-29T15:30:00+02:00"
