"""Where engine code gets the time. Never ``datetime.now()``: the Simulation swaps in a
virtual clock and production and tests run the same code."""

from __future__ import annotations

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
