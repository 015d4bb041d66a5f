"""``Simulation``: the real engine and machine on a virtual clock, over in-memory SQLite.

A 60-day flow is tested in milliseconds: ``advance`` moves the clock and fires every
timer that falls due on the way, each at its own due time, in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pendulum

from flowkit.clock import VirtualClock
from flowkit.context import User
from flowkit.lms.platform import PlatformView
from flowkit.rules.policy import Rules
from flowkit.rules.report import FlowReport
from flowkit.runtime.discovery import Source, load_flows
from flowkit.runtime.engine import Emitted, Engine
from flowkit.runtime.records import ActionRecord, RunRecord
from flowkit.store.database import MEMORY_URL

DEFAULT_START = "2026-03-02T09:00:00+00:00"


def _moment(value: str | dt.datetime | dt.date) -> pendulum.DateTime:
    if isinstance(value, str):
        parsed = pendulum.parse(value, tz="UTC")
        if isinstance(parsed, pendulum.DateTime):
            return parsed.in_timezone("UTC")
        if isinstance(parsed, pendulum.Date):
            return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
        raise ValueError(f"{value!r} is not a date or a moment")
    if isinstance(value, dt.datetime):
        return pendulum.instance(value, tz="UTC").in_timezone("UTC")
    return pendulum.datetime(value.year, value.month, value.day, tz="UTC")


class Simulation:
    """Flows on a virtual clock.

    ``Simulation(flow_a, "automations.drip", start="2026-03-02T09:00:00+00:00")`` takes
    flows, module names, files or folders. Nothing runs until you ``emit`` an event.
    ``rules`` are the journey rules to apply (default: the project's, as an Engine's).
    """

    def __init__(self, *flows: Source, start: str | dt.datetime = DEFAULT_START,
                 rules: Rules | None = None) -> None:
        self.clock = VirtualClock(_moment(start))
        self.engine = Engine(MEMORY_URL, load_flows(flows), clock=self.clock, rules=rules)

    @classmethod
    def from_paths(cls, *paths: str, start: str | dt.datetime = DEFAULT_START,
                   rules: Rules | None = None) -> Simulation:
        """A simulation of every flow in these folders or files."""
        return cls(*paths, start=start, rules=rules)

    @property
    def now(self) -> pendulum.DateTime:
        return self.clock.now()

    @property
    def platform(self) -> PlatformView:
        """What the built-in platform knows: ``sim.platform.emails("u1")``,
        ``.enrollments``, ``.tags``, ``.spaces``, ``.payments``, ``.invoices``,
        ``.notifications``; ``.add_course(slug, title, price)`` fills the catalog."""
        return PlatformView(self.engine.db, self.engine.platform, self.clock.now)

    def add_user(self, user_id: str, *, name: str | None = None, email: str | None = None,
                 manager: str | None = None, timezone: str = "UTC",
                 fields: Mapping[str, Any] | None = None) -> User:
        return self.engine.add_user(user_id, name=name, email=email, manager=manager,
                                    timezone=timezone, fields=fields)

    def emit(self, event: str, user: str, *, idempotency_key: str | None = None,
             **payload: Any) -> Emitted:
        """Emit an event now and route it (exits, waits, then triggers)."""
        return self.engine.emit(event, user, idempotency_key=idempotency_key, **payload)

    def emit_many(self, events: Iterable[Mapping[str, Any]]) -> list[Emitted]:
        return self.engine.emit_many(events)

    def start(self, flow: str, user: str, **payload: Any) -> str | None:
        return self.engine.start(flow, user, **payload)

    def advance(self, *, to: str | dt.datetime | dt.date | None = None, days: float = 0,
                hours: float = 0, minutes: float = 0, seconds: float = 0) -> int:
        """Move the clock forward, firing each timer due on the way at its due time.

        Returns how many timers fired.
        """
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if to is not None and delta:
            raise ValueError("advance() takes to= or a duration, not both")
        target = _moment(to) if to is not None else self.now + delta
        if target < self.now:
            raise ValueError(f"cannot advance back in time, from {self.now} to {target}")
        fired = 0
        while True:
            due = self.engine.next_due()
            if due is None or due > target:
                break
            self.clock.set(max(due, self.now))
            fired += self.engine.tick(self.now)
        self.clock.set(target)
        return fired

    def runs(self, user: str | None = None, flow: str | None = None) -> list[RunRecord]:
        return self.engine.runs(user=user, flow=flow)

    def run(self, user: str | None = None, flow: str | None = None) -> RunRecord:
        """The one run of ``user`` (in ``flow``); an error if there are none or several."""
        found = self.runs(user=user, flow=flow)
        if len(found) != 1:
            raise LookupError(f"expected one run for user={user!r} flow={flow!r}, "
                              f"found {len(found)}")
        return found[0]

    def report(self, flow: str) -> FlowReport:
        """The flow's conversion, drop-off and held messages (``flowkit report``)."""
        return self.engine.report(flow)

    def actions(self, user: str | None = None, name: str | None = None) -> list[ActionRecord]:
        return self.engine.actions(user=user, name=name)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
