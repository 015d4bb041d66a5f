"""Where engine code gets the time. Never ``datetime.now()``: the Simulation swaps in a
virtual clock and production and tests run the same code."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pendulum


class Clock(Protocol):
    def now(self) -> pendulum.DateTime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now("UTC")


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: pendulum.DateTime) -> None:
        self._now = start.in_timezone("UTC")

    def now(self) -> pendulum.DateTime:
        return self._now

    def set(self, moment: pendulum.DateTime) -> None:
        if moment < self._now:
            raise ValueError(f"the clock cannot go back from {self._now} to {moment}")
        self._now = moment.in_timezone("UTC")


class ScaledClock:
    """Time that runs ``scale`` times faster than the wall clock from ``origin``: with
    ``scale=86400`` a simulated day passes each second (``flowkit run --time-scale``).

    Every process given the same origin, start and scale reads the same time.
    """

    def __init__(self, origin: float, start: pendulum.DateTime, scale: float) -> None:
        self.origin = origin
        self.start = start.in_timezone("UTC")
        self.scale = scale

    def now(self) -> pendulum.DateTime:
        import time

        elapsed = (time.time() - self.origin) * self.scale
        return self.start.add(microseconds=int(elapsed * 1_000_000))


def clock_from_env(environ: dict[str, str] | None = None) -> Clock:
    """The clock ``flowkit run`` hands its workers: scaled when FLOWKIT_TIME_SCALE is
    set (with FLOWKIT_TIME_ORIGIN and FLOWKIT_TIME_START), else the system clock."""
    import os

    env = os.environ if environ is None else environ
    scale = env.get("FLOWKIT_TIME_SCALE")
    if not scale or float(scale) == 1.0:
        return SystemClock()
    start = pendulum.parse(env["FLOWKIT_TIME_START"])
    assert isinstance(start, pendulum.DateTime)
    return ScaledClock(float(env["FLOWKIT_TIME_ORIGIN"]), start, float(scale))


def later(moment: pendulum.DateTime, delay: dt.timedelta) -> pendulum.DateTime:
    """``moment + delay``. In UTC, every run's clock, that is plain datetime arithmetic,
    done by ``datetime`` itself: pendulum's ``+`` gives the same moment some 20 times
    slower, and it runs for every wait."""
    if moment.tzinfo is pendulum.UTC:
        return dt.datetime.__add__(moment, delay)  # keeps the pendulum type
    return moment + delay
